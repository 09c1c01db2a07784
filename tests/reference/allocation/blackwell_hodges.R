# Expected proportion of correct guesses under the convergence strategy (Blackwell & Hodges 1957)
# for 1:1 permuted blocks of one known size 2m, two ways: exact enumeration of every equally likely
# block, and the closed form m + 2^(2m-1)/choose(2m, m) - 1/2 correct guesses per block.
# Independent of trialdesk's Python code. Run: Rscript blackwell_hodges.R > blackwell_hodges.out
enumerate_block <- function(size) {
  m <- size / 2
  positions <- combn(size, m)          # where the A's go: every arrangement, equally likely
  total <- 0
  for (j in seq_len(ncol(positions))) {
    arm <- rep("B", size); arm[positions[, j]] <- "A"
    a <- 0; b <- 0; correct <- 0
    for (x in arm) {
      if (a < b) correct <- correct + (x == "A")
      else if (b < a) correct <- correct + (x == "B")
      else correct <- correct + 0.5     # tie: guess at random
      if (x == "A") a <- a + 1 else b <- b + 1
    }
    total <- total + correct
  }
  total / ncol(positions) / size
}
closed_form <- function(size) { m <- size / 2; (m + 2^(2 * m - 1) / choose(2 * m, m) - 0.5) / size }
for (size in c(2, 4, 6, 8, 10)) {
  cat(sprintf("block %2d enumeration %.10f closed_form %.10f\n", size, enumerate_block(size), closed_form(size)))
}
