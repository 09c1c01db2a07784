# Writes the published data sets used by the reference tests to data/*.csv (run from tests/reference/stats).
# sleepstudy: lme4 (GPL >= 2), from Belenky et al. (2003), J Sleep Res 12:1-12.
# BtheB: HSAUR3 (GPL-2), "Beat the Blues" trial, Proudfoot et al. (2003); Everitt & Hothorn,
#   A Handbook of Statistical Analyses Using R, 3rd ed., chapter 13.
data(sleepstudy, package = "lme4")
write.csv(sleepstudy, "data/sleepstudy.csv", row.names = FALSE)
data(BtheB, package = "HSAUR3")
BtheB$subject <- seq_len(nrow(BtheB))
write.csv(BtheB, "data/btheb_wide.csv", row.names = FALSE, na = "")
# Long format by the book's rule (HSAUR3 ch. 13): one row per subject and follow-up time; missing rows dropped.
long <- reshape(BtheB, idvar = "subject", varying = c("bdi.2m", "bdi.3m", "bdi.5m", "bdi.8m"),
                direction = "long", v.names = "bdi", times = c(2, 3, 5, 8), timevar = "time")
long <- long[order(long$subject, long$time), ]
long <- long[!is.na(long$bdi), c("subject", "treatment", "drug", "length", "bdi.pre", "time", "bdi")]
names(long)[names(long) == "bdi.pre"] <- "bdi_pre"
write.csv(long, "data/btheb_long.csv", row.names = FALSE)
