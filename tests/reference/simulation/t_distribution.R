# Reference values of Student's t distribution for trialdesk.simulation.analysis.t_two_sided_p and
# t_quantile (which replace scipy.special.stdtr/stdtrit in the power simulation).
# Run: Rscript t_distribution.R > t_distribution.Rout   (R 4.2, base stats::pt / stats::qt)
# Output lines: "p <df> <t> <two-sided p>" and "q <df> <prob> <quantile>", 17 significant digits.
dfs <- c(1, 2, 3, 4.5, 10, 29.3, 100, 187, 193, 195, 1000)
ts <- c(0.001, 0.5, 1, 1.96, 2.5, 4, 8, 30)
for (df in dfs) for (t in ts)
  cat("p", df, t, sprintf("%.17g", 2 * pt(-abs(t), df)), "\n")
for (df in dfs) for (prob in c(0.6, 0.9, 0.975, 0.995))
  cat("q", df, prob, sprintf("%.17g", qt(prob, df)), "\n")
