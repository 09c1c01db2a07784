# Intraclass correlations on the worked example of Shrout & Fleiss (1979), Psychol Bull 86:420-428,
# Table 2 (6 targets rated by 4 judges; published ICC(2,1) = .29, ICC(3,1) = .71), as reproduced in the
# examples of psych::ICC. Confidence limits are psych's (McGraw & Wong 1996 formulas).
# Run: Rscript icc_shrout_fleiss.R > icc_shrout_fleiss.Rout   (R 4.2.2, psych 2.2.9)
library(psych)
sf <- matrix(c(9, 2, 5, 8,
               6, 1, 3, 2,
               8, 4, 6, 8,
               7, 1, 2, 6,
               10, 5, 6, 9,
               6, 2, 4, 7), ncol = 4, byrow = TRUE,
             dimnames = list(paste0("S", 1:6), paste0("J", 1:4)))
write.csv(sf, "icc_shrout_fleiss.csv")
options(width = 200)
res <- ICC(sf, lmer = FALSE)
print(res, digits = 6)
print(format(res$results[, c("type", "ICC", "F", "df1", "df2", "p", "lower bound", "upper bound")], digits = 10))
