# Logistic regression on MASS::birthwt as in Venables & Ripley, MASS 4th ed., section 7.2
# ("bwt" data frame, glm(low ~ ., binomial, bwt)); plus the odds ratio of low birth weight for smoking
# from a one-predictor logistic fit (Wald CI), used to check effect_sizes.odds_ratio.
# Run: Rscript glm_birthwt.R > glm_birthwt.Rout   (R 4.2.2, MASS 7.3-58.2)
library(MASS)
bwt <- with(birthwt, {
  race <- factor(race, labels = c("white", "black", "other"))
  ptd <- factor(ptl > 0)
  ftv <- factor(ftv)
  levels(ftv)[-(1:2)] <- "2+"
  data.frame(low = low, age, lwt, race, smoke = (smoke > 0), ptd, ht = (ht > 0), ui = (ui > 0), ftv)
})
write.csv(bwt, "glm_birthwt.csv", row.names = FALSE)
fit <- glm(low ~ ., binomial, bwt)
print(summary(fit))
cat("logLik", format(as.numeric(logLik(fit)), digits = 10), "AIC", format(AIC(fit), digits = 10), "\n")
print(format(coef(summary(fit)), digits = 10))
print(table(smoke = bwt$smoke, low = bwt$low))
one <- glm(low ~ smoke, binomial, bwt)
print(format(exp(cbind(OR = coef(one), confint.default(one))), digits = 10))
