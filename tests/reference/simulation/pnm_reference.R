# Reference fits for trialdesk.simulation.analysis (batched ANCOVA and partially nested REML model).
# Data: pnm_trials.csv, two trials drawn by trialdesk's own simulator (synthetic, no real participants;
# CC0). Scenario: IMR protocol sizes (100 IMR in 10 groups of 10, 100 TAU, two sites), ICC 0.15,
# effect 3, dropout 0.25 (missing m9 = NA).
# Model: m9 ~ imr + baseline + site + bipolar + (0 + imr | group): a random intercept for each IMR
# group in the intervention arm only (control participants are singleton "groups" whose random
# effect is multiplied by imr = 0), fitted by REML (lme4); df for imr by Satterthwaite (lmerTest).
# Run: Rscript pnm_reference.R > pnm_reference.Rout
suppressPackageStartupMessages({library(lme4); library(lmerTest)})
cat("R version:", R.version.string, " lme4", as.character(packageVersion("lme4")),
    " lmerTest", as.character(packageVersion("lmerTest")), "\n")
d <- read.csv("pnm_trials.csv")
d$base_c <- d$baseline - 41
for (k in 1:2) {
  dk <- subset(d, trial == k & !is.na(m9))
  ols <- lm(m9 ~ imr + base_c + site + bipolar, data = dk)
  co <- summary(ols)$coefficients["imr", ]
  cat(sprintf("trial=%d ols_estimate=%.10f ols_se=%.10f ols_df=%d ols_p=%.10f\n", k, co[1], co[2],
              ols$df.residual, co[4]))
  fit <- lmer(m9 ~ imr + base_c + site + bipolar + (0 + imr | group), data = dk, REML = TRUE,
              control = lmerControl(check.nobs.vs.nlev = "ignore", check.nobs.vs.nRE = "ignore"))
  vc <- as.data.frame(VarCorr(fit))
  var_u <- vc$vcov[vc$grp == "group"]
  sigma2 <- sigma(fit)^2
  ct <- summary(fit)$coefficients["imr", ]
  cat(sprintf("trial=%d lmm_estimate=%.10f lmm_se=%.10f lmm_df=%.6f lmm_p=%.10f gamma=%.10f sigma2=%.10f reml=%.8f\n",
              k, ct["Estimate"], ct["Std. Error"], ct["df"], ct["Pr(>|t|)"], var_u / sigma2, sigma2,
              REMLcrit(fit)))
}
