# Reference numbers for trialdesk.stats.lmm: lme4::sleepstudy, random intercept and random slope,
# REML and ML; SEs from vcov() (sigma^2 (X'V^-1X)^-1); Satterthwaite df from lmerTest.
# Tolerances tightened so R's optimum is accurate beyond the digits compared.
suppressMessages({library(lme4); library(lmerTest)})
d <- read.csv("data/sleepstudy.csv"); d$Subject <- factor(d$Subject)
ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-14, maxfun = 1e5))
out <- function(tag, m) {
  print(summary(m))
  s <- summary(m)$coefficients
  for (i in seq_len(nrow(s))) {
    cat(sprintf("@ %s est %s %.12g\n", tag, rownames(s)[i], s[i, "Estimate"]))
    cat(sprintf("@ %s se %s %.12g\n", tag, rownames(s)[i], s[i, "Std. Error"]))
    cat(sprintf("@ %s df %s %.12g\n", tag, rownames(s)[i], s[i, "df"]))
  }
  vc <- as.data.frame(VarCorr(m))
  for (i in seq_len(nrow(vc))) cat(sprintf("@ %s vc %s:%s:%s %.12g\n", tag, vc$grp[i], vc$var1[i],
                                          ifelse(is.na(vc$var2[i]), "", vc$var2[i]), vc$vcov[i]))
  cat(sprintf("@ %s loglik %.12g\n", tag, as.numeric(logLik(m))))
  cat(sprintf("@ %s aic %.12g\n", tag, AIC(m)))
  cat(sprintf("@ %s bic %.12g\n", tag, BIC(m)))
}
out("ri_reml", lmer(Reaction ~ Days + (1 | Subject), d, REML = TRUE, control = ctl))
out("ri_ml", lmer(Reaction ~ Days + (1 | Subject), d, REML = FALSE, control = ctl))
out("rs_reml", lmer(Reaction ~ Days + (Days | Subject), d, REML = TRUE, control = ctl))
out("rs_ml", lmer(Reaction ~ Days + (Days | Subject), d, REML = FALSE, control = ctl))
