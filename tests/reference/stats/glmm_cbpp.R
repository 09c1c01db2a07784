# Binomial GLMM on lme4::cbpp, the example of ?glmer (Laplace) and nAGQ = 25 (as in the lme4 docs).
# Run: Rscript glmm_cbpp.R > glmm_cbpp.Rout   (R 4.2.2, lme4 1.1-31)
library(lme4)
write.csv(cbpp, "glmm_cbpp.csv", row.names = FALSE)
gm1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial)
print(summary(gm1))
cat("logLik", format(as.numeric(logLik(gm1)), digits = 10), "sd", format(attr(VarCorr(gm1)$herd, "stddev"), digits = 10), "\n")
print(format(coef(summary(gm1)), digits = 10))
gm25 <- update(gm1, nAGQ = 25)
print(summary(gm25))
cat("logLik", format(as.numeric(logLik(gm25)), digits = 10), "sd", format(attr(VarCorr(gm25)$herd, "stddev"), digits = 10), "\n")
print(format(coef(summary(gm25)), digits = 10))
# lme4's default PIRLS tolerance (tolPwrss = 1e-7) stops the inner conditional-mode iterations early
# enough to move the Laplace estimates in the 4th digit; with tolPwrss = 1e-12, and with glmmTMB (exact
# Laplace by automatic differentiation), the Laplace optimum is:
gm1t <- update(gm1, control = glmerControl(tolPwrss = 1e-12))
cat("tight logLik", format(as.numeric(logLik(gm1t)), digits = 10), "sd", format(attr(VarCorr(gm1t)$herd, "stddev"), digits = 10), "\n")
print(format(coef(summary(gm1t)), digits = 10))
library(glmmTMB)
cat("glmmTMB", as.character(packageVersion("glmmTMB")), "\n")
gt <- glmmTMB(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp, family = binomial)
cat("glmmTMB logLik", format(as.numeric(logLik(gt)), digits = 10), "sd", format(sqrt(VarCorr(gt)$cond$herd[1]), digits = 10), "\n")
print(format(summary(gt)$coefficients$cond, digits = 10))
