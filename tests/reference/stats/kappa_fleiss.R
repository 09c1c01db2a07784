# Weighted kappa with linear and quadratic weights and their confidence limits from psych::cohen.kappa,
# on the 3 x 3 diagnosis table of Fleiss, Cohen & Everitt (1969), Psychol Bull 72:323-327 (also Fleiss,
# Levin & Paik, Statistical Methods for Rates and Proportions, 3rd ed., ch. 18), used in the examples of
# psych::cohen.kappa (counts are proportions x 200). psych's asymptotic variance is that of
# Fleiss, Cohen & Everitt (1969).
# Run: Rscript kappa_fleiss.R > kappa_fleiss.Rout   (R 4.2.2, psych 2.2.9)
library(psych)
fleiss <- matrix(c(106, 10, 4, 22, 28, 10, 2, 12, 6), ncol = 3, byrow = TRUE)
write.csv(fleiss, "kappa_fleiss.csv", row.names = FALSE)
k <- 3
lin <- 1 - abs(outer(1:k, 1:k, "-")) / (k - 1)
quad <- 1 - (outer(1:k, 1:k, "-"))^2 / (k - 1)^2
# cohen.kappa1 takes agreement weights (1 on the diagonal).
# Note: psych 2.2.9's weighted-kappa variance uses rowSums(w * rs), i.e. rs_j * sum_k w_jk, where
# Fleiss, Cohen & Everitt (1969) have sum_k rs_k w_kj; the two differ when the raters' margins differ,
# so only the kappa estimates (and the unweighted variance) are compared with psych.
for (w in c("linear", "quadratic")) {
  wt <- if (w == "linear") lin else quad
  res <- cohen.kappa(fleiss, w = wt)
  cat("weights:", w, "\n")
  print(format(res$confid, digits = 10))
  cat("var.kappa", format(res$var.kappa, digits = 10), "var.weighted", format(res$var.weighted, digits = 10), "\n")
}
# The documented example of psych::cohen.kappa with Fleiss's own weights:
fleiss.w <- matrix(c(0, .4, 1, .4, 0, 1, 1, 1, 0), 3, 3)
res <- cohen.kappa(fleiss, fleiss.w)
print(res, digits = 6)
print(format(res$confid, digits = 10))
