# Simulated partially nested trial (written here with a fixed seed and shipped as data/pnm_simulated.csv,
# licence CC0) and the reference fit of the partially nested model with nlme::lme:
#   random = ~ 0 + imr | group (therapy-group intercept in the IMR arm only; TAU participants are
#   singleton groups whose random effect is multiplied by imr = 0), weights = varIdent(form = ~ 1 | arm).
suppressMessages(library(nlme))
set.seed(20110228)
sizes <- c(10, 8, 9, 11, 10, 7, 10, 12, 9, 10)          # IMR therapy groups
n_imr <- sum(sizes); n_tau <- 96
arm <- c(rep("IMR", n_imr), rep("TAU", n_tau))
group <- c(rep(sprintf("G%02d", seq_along(sizes)), sizes), sprintf("T%03d", seq_len(n_tau)))
site <- sample(c("Ballerup", "Frederiksberg"), n_imr + n_tau, replace = TRUE)
baseline <- round(rnorm(n_imr + n_tau, 42, 11))
u <- rnorm(length(sizes), 0, 4)[match(group, sprintf("G%02d", seq_along(sizes)))]
u[is.na(u)] <- 0
gaf <- 20 + 0.55 * baseline + 1.5 * (arm == "IMR") + 2 * (site == "Frederiksberg") + u +
  rnorm(n_imr + n_tau, 0, ifelse(arm == "IMR", 10, 12))
d <- data.frame(id = seq_along(arm), arm, group, site, baseline, gaf = round(gaf, 1))
write.csv(d, "data/pnm_simulated.csv", row.names = FALSE)
d$imr <- as.numeric(d$arm == "IMR")
d$arm <- factor(d$arm, levels = c("IMR", "TAU"))
m <- lme(gaf ~ arm + baseline + site, random = ~ 0 + imr | group, weights = varIdent(form = ~ 1 | arm),
         data = d, method = "REML", control = lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12,
                                                          msTol = 1e-14, niterEM = 100))
print(summary(m))
put <- function(kind, name, value) cat(sprintf("@ pnm %s %s %.12g\n", kind, gsub(" ", "", name), value))
est <- fixef(m); se <- sqrt(diag(vcov(m)))
for (i in seq_along(est)) { put("est", names(est)[i], est[i]); put("se", names(est)[i], se[i]) }
tau <- as.numeric(pdMatrix(m$modelStruct$reStruct$group)) * m$sigma^2
ratio <- coef(m$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
put("vc", "group", tau)
put("vc", "residual_IMR", (m$sigma * ratio["IMR"])^2)
put("vc", "residual_TAU", (m$sigma * ratio["TAU"])^2)
put("icc", "", tau / (tau + (m$sigma * ratio["IMR"])^2))
put("loglik", "", as.numeric(logLik(m)))
