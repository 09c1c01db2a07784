# Multiple-imputation pooling on mice::nhanes (van Buuren, Flexible Imputation of Missing Data, 2nd ed.,
# section 1.4 / ?mice example). The m = 5 completed data sets made by mice (seed 123) are exported so
# that trialdesk's pooling can be fed exactly the same completed data and compared with mice::pool.
# Also a logistic model (hyp is 1/2 in nhanes) to check pooling with dfcom from a GLM, and pool() with
# dfcom = Inf (large-sample df).
# Run: Rscript mi_nhanes.R > mi_nhanes.Rout   (R 4.2.2, mice 3.15.0)
library(mice)
write.csv(nhanes, "mi_nhanes.csv", row.names = FALSE)
imp <- mice(nhanes, m = 5, seed = 123, printFlag = FALSE)
long <- complete(imp, action = "long")
write.csv(long[, c(".imp", ".id", "age", "bmi", "hyp", "chl")], "mi_nhanes_completed.csv", row.names = FALSE)
options(width = 200)
fit <- with(imp, lm(chl ~ age + bmi))
pooled <- pool(fit)
print(pooled, digits = 10)
print(summary(pooled, conf.int = TRUE), digits = 10)
fit2 <- with(imp, glm(I(hyp - 1) ~ age + chl, family = binomial))
pooled2 <- pool(fit2)
print(pooled2, digits = 10)
pooled3 <- pool(fit, dfcom = Inf)
print(pooled3, digits = 10)
