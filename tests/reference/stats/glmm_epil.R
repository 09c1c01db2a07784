# Poisson GLMM on MASS::epil (Thall & Vail 1990 epilepsy trial, as analysed in Venables & Ripley,
# MASS 4th ed., section 10.4) with a random intercept per subject, fitted by lme4::glmer with the Laplace
# approximation and with nAGQ = 9.
# Run: Rscript glmm_epil.R > glmm_epil.Rout   (R 4.2.2, MASS 7.3-58.2, lme4 1.1-31)
library(MASS); library(lme4)
ep <- epil[, c("y", "trt", "base", "age", "V4", "subject", "period", "lbase", "lage")]
write.csv(ep, "glmm_epil.csv", row.names = FALSE)
g1 <- glmer(y ~ lbase * trt + lage + V4 + (1 | subject), data = ep, family = poisson)
print(summary(g1))
cat("logLik", format(as.numeric(logLik(g1)), digits = 10), "sd", format(attr(VarCorr(g1)$subject, "stddev"), digits = 10), "\n")
print(format(coef(summary(g1)), digits = 10))
g9 <- update(g1, nAGQ = 9)
print(summary(g9))
cat("logLik", format(as.numeric(logLik(g9)), digits = 10), "sd", format(attr(VarCorr(g9)$subject, "stddev"), digits = 10), "\n")
print(format(coef(summary(g9)), digits = 10))
# Laplace optimum with a tight PIRLS tolerance (see glmm_cbpp.R) and from glmmTMB:
g1t <- update(g1, control = glmerControl(tolPwrss = 1e-12))
cat("tight logLik", format(as.numeric(logLik(g1t)), digits = 10), "sd", format(attr(VarCorr(g1t)$subject, "stddev"), digits = 10), "\n")
print(format(coef(summary(g1t)), digits = 10))
library(glmmTMB)
gt <- glmmTMB(y ~ lbase * trt + lage + V4 + (1 | subject), data = ep, family = poisson)
cat("glmmTMB logLik", format(as.numeric(logLik(gt)), digits = 10), "sd", format(sqrt(VarCorr(gt)$cond$subject[1]), digits = 10), "\n")
print(format(summary(gt)$coefficients$cond, digits = 10))
