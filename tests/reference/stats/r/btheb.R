# Reference numbers on the "Beat the Blues" trial (HSAUR3::BtheB; data/btheb_long.csv and
# data/btheb_wide.csv, written by export_data.R): unbalanced longitudinal trial data with dropout.
#  * lmm_*: lme4/lmerTest random-intercept and random-slope models as in Everitt & Hothorn,
#    A Handbook of Statistical Analyses Using R (3rd ed.), ch. 13 (BtheB_lmer1, BtheB_lmer2), plus REML
#    with Satterthwaite df (lmerTest) and Kenward-Roger SEs and df (lmerTest via pbkrtest).
#  * mmrm_us / mmrm_cs / mmrm_ar1: nlme::gls with corSymm+varIdent (unstructured), corCompSymm, corAR1
#    by visit; REML; least-squares means by arm and visit from emmeans.
#  * mmrm_kr: the compound-symmetry MMRM fitted as the equivalent random-intercept lmer model, with
#    Kenward-Roger adjusted SEs and df (pbkrtest) for coefficients and emmeans LS means.
#  * ancova: lm at 8 months with classical and HC3 (sandwich) SEs.
suppressMessages({library(lme4); library(lmerTest); library(nlme); library(emmeans); library(sandwich)})
emm_options(opt.digits = FALSE)
long <- read.csv("data/btheb_long.csv")
long$treatment <- factor(long$treatment, levels = c("TAU", "BtheB"))
long$ftime <- factor(long$time)
long$visit <- as.integer(long$ftime)
ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-14, maxfun = 1e5))

put <- function(tag, kind, name, value) cat(sprintf("@ %s %s %s %.12g\n", tag, kind, gsub(" ", "", name), value))
coefs <- function(tag, est, se, df = NULL) {
  for (i in seq_along(est)) {
    put(tag, "est", names(est)[i], est[i]); put(tag, "se", names(est)[i], se[i])
    if (!is.null(df)) put(tag, "df", names(est)[i], df[i])
  }
}
lmm <- function(tag, m, ddf = "Satterthwaite") {
  s <- summary(m, ddf = ddf); print(s)
  cf <- s$coefficients
  coefs(tag, setNames(cf[, 1], rownames(cf)), cf[, 2], cf[, "df"])
  vc <- as.data.frame(VarCorr(m))
  for (i in seq_len(nrow(vc))) put(tag, "vc", paste(vc$grp[i], vc$var1[i], vc$var2[i], sep = ":"), vc$vcov[i])
  put(tag, "loglik", "", as.numeric(logLik(m))); put(tag, "aic", "", AIC(m)); put(tag, "bic", "", BIC(m))
}
lmm("lmm_ri_ml", lmer(bdi ~ bdi_pre + time + treatment + drug + length + (1 | subject), long,
                      REML = FALSE, control = ctl))
lmm("lmm_rs_ml", lmer(bdi ~ bdi_pre + time + treatment + drug + length + (time | subject), long,
                      REML = FALSE, control = ctl))
lmm("lmm_ri_reml", lmer(bdi ~ bdi_pre + time + treatment + drug + length + (1 | subject), long,
                        REML = TRUE, control = ctl))

lsm <- function(tag, fit, ...) {
  e <- emmeans(fit, ~ treatment | ftime, ...)
  print(e)
  s <- as.data.frame(summary(e))
  for (i in seq_len(nrow(s))) {
    key <- paste0(s$treatment[i], ":", s$ftime[i])
    put(tag, "lsmean", key, s$emmean[i]); put(tag, "lsse", key, s$SE[i]); put(tag, "lsdf", key, s$df[i])
  }
  d <- as.data.frame(summary(contrast(e, method = "revpairwise")))
  for (i in seq_len(nrow(d))) {
    put(tag, "diff", d$ftime[i], d$estimate[i]); put(tag, "diffse", d$ftime[i], d$SE[i])
    put(tag, "diffdf", d$ftime[i], d$df[i])
  }
}
gctl <- glsControl(opt = "optim", maxIter = 500, msMaxIter = 5000, tolerance = 1e-12, msTol = 1e-15)
form <- bdi ~ bdi_pre + drug + length + treatment * ftime
gls_out <- function(tag, m) {
  print(summary(m))
  coefs(tag, coef(m), sqrt(diag(vcov(m))))
  put(tag, "loglik", "", as.numeric(logLik(m))); put(tag, "aic", "", AIC(m)); put(tag, "bic", "", BIC(m))
  V <- getVarCov(m, individual = 2)  # subject 2 has all four visits
  for (i in 1:4) for (j in 1:i) put(tag, "sigma", paste0(i, ",", j), V[i, j])
  lsm(tag, m, mode = "asymptotic")  # estimates and SEs; gls df in emmeans are numerical approximations
}
gls_out("mmrm_us", gls(form, long, correlation = corSymm(form = ~ visit | subject),
                       weights = varIdent(form = ~ 1 | ftime), method = "REML", control = gctl))
gls_out("mmrm_cs", gls(form, long, correlation = corCompSymm(form = ~ visit | subject),
                       method = "REML", control = gctl))
gls_out("mmrm_ar1", gls(form, long, correlation = corAR1(form = ~ visit | subject),
                        method = "REML", control = gctl))

kr <- lmer(bdi ~ bdi_pre + drug + length + treatment * ftime + (1 | subject), long, REML = TRUE, control = ctl)
lmm("mmrm_kr", kr, ddf = "Kenward-Roger")
lsm("mmrm_kr", kr, lmer.df = "kenward-roger")

wide <- read.csv("data/btheb_wide.csv")
wide$treatment <- factor(wide$treatment, levels = c("TAU", "BtheB"))
a <- lm(bdi.8m ~ bdi.pre + treatment + drug + length, wide)
print(summary(a))
coefs("ancova", coef(a), sqrt(diag(vcov(a))), rep(df.residual(a), length(coef(a))))
coefs("ancova_hc3", coef(a), sqrt(diag(vcovHC(a, type = "HC3"))))
put("ancova", "sigma", "", summary(a)$sigma); put("ancova", "r2", "", summary(a)$r.squared)
put("ancova", "loglik", "", as.numeric(logLik(a))); put("ancova", "aic", "", AIC(a)); put("ancova", "bic", "", BIC(a))
