# Reference outputs for trialdesk.design: R's stats::power.t.test and stats::power.prop.test.
# Cases: the examples on R's help pages ?power.t.test and ?power.prop.test, the IMR trial's sample
# size (delta 6, SD 15, alpha 0.05 two-sided, power 0.8), one-sided and strict variants.
# Run: Rscript power_reference.R > power_reference.Rout
# Solving for n, R's uniroot stops at tol = .Machine$double.eps^0.25 (about 1.2e-4); each n case is
# printed twice: with R's default tolerance, and with tol = 1e-12 so n is exact to the printed digits.
options(digits = 15)
cat("R version:", R.version.string, "\n")
show <- function(label, r) {
  cat(sprintf("%s n=%.12f power=%.15f\n", label, r$n, r$power))
}
# ?power.t.test examples
show("t_n20_delta1", power.t.test(n = 20, delta = 1))
show("t_power90_delta1", power.t.test(power = .90, delta = 1))
show("t_power90_delta1_tight", power.t.test(power = .90, delta = 1, tol = 1e-12))
show("t_power90_delta1_onesided", power.t.test(power = .90, delta = 1, alternative = "one.sided"))
show("t_power90_delta1_onesided_tight", power.t.test(power = .90, delta = 1, alternative = "one.sided", tol = 1e-12))
# IMR trial: delta 6, SD 15, two-sided alpha 0.05, power 0.8 -> 99.08 per arm, 100 rounded up
show("t_imr", power.t.test(delta = 6, sd = 15, power = .8))
show("t_imr_tight", power.t.test(delta = 6, sd = 15, power = .8, tol = 1e-12))
show("t_imr_n100", power.t.test(delta = 6, sd = 15, n = 100))
show("t_imr_sd13_power90_tight", power.t.test(delta = 6, sd = 13, power = .9, tol = 1e-12))
# strict two-sided (both rejection regions) and small-n, one-sided power
show("t_n5_delta1_strict", power.t.test(n = 5, delta = 1, strict = TRUE))
show("t_n5_delta1", power.t.test(n = 5, delta = 1))
show("t_n12.5_delta0.8_sd1.3_alpha01_onesided", power.t.test(n = 12.5, delta = 0.8, sd = 1.3, sig.level = 0.01, alternative = "one.sided"))
show("t_power80_delta0.5_strict_tight", power.t.test(power = .8, delta = 0.5, strict = TRUE, tol = 1e-12))
# ?power.prop.test examples
show("prop_n50", power.prop.test(n = 50, p1 = .50, p2 = .75))
show("prop_power90", power.prop.test(p1 = .50, p2 = .75, power = .90))
show("prop_power90_tight", power.prop.test(p1 = .50, p2 = .75, power = .90, tol = 1e-12))
show("prop_n50_onesided", power.prop.test(n = 50, p1 = .50, p2 = .75, alternative = "one.sided"))
show("prop_n50_strict", power.prop.test(n = 50, p1 = .50, p2 = .75, strict = TRUE))
show("prop_power80_p0.2_0.35_tight", power.prop.test(p1 = .20, p2 = .35, power = .80, tol = 1e-12))
show("prop_power80_p0.2_0.35_strict_tight", power.prop.test(p1 = .20, p2 = .35, power = .80, strict = TRUE, tol = 1e-12))
# the printed objects, as R shows them
print(power.t.test(n = 20, delta = 1))
print(power.t.test(delta = 6, sd = 15, power = .8))
print(power.prop.test(p1 = .50, p2 = .75, power = .90))
