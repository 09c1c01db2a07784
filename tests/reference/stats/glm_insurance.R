# Poisson GLM with an offset on MASS::Insurance (Venables & Ripley, MASS 4th ed., section 7.3:
# claims per policy holder, offset log(Holders)). Factors recoded to unordered treatment contrasts with
# levels in C-locale sorted order, the order patsy uses, so that term names correspond one to one.
# Run: Rscript glm_insurance.R > glm_insurance.Rout   (R 4.2.2, MASS 7.3-58.2)
library(MASS)
ins <- data.frame(District = as.character(Insurance$District),
                  Group = as.character(Insurance$Group), Age = as.character(Insurance$Age),
                  Holders = Insurance$Holders, Claims = Insurance$Claims)
write.csv(ins, "glm_insurance.csv", row.names = FALSE)
for (v in c("District", "Group", "Age")) ins[[v]] <- factor(ins[[v]], levels = sort(unique(ins[[v]]), method = "radix"))
fit <- glm(Claims ~ District + Group + Age + offset(log(Holders)), family = poisson, data = ins)
print(summary(fit))
cat("logLik", format(as.numeric(logLik(fit)), digits = 10), "AIC", format(AIC(fit), digits = 10), "\n")
print(format(coef(summary(fit)), digits = 10))
print(exp(cbind(RR = coef(fit), confint.default(fit))))
