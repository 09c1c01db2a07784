# Bonferroni and Holm adjusted p-values from R's stats::p.adjust (Holm 1979, Scand J Stat 6:65-70) on a
# fixed vector of p-values, and the running maximum used for fixed-sequence testing.
# Run: Rscript multiplicity_padjust.R > multiplicity_padjust.Rout   (R 4.2.2)
p <- c(0.010, 0.040, 0.030, 0.005, 0.200, 0.0125)
print(format(p.adjust(p, "bonferroni"), digits = 10))
print(format(p.adjust(p, "holm"), digits = 10))
print(format(cummax(p), digits = 10))
