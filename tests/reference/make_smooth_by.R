# Reference for a numeric `by` smooth, s(x, by = z) (mgcv's varying coefficient), for
# tests/unit/test_smooths.py. Run from the repository root:
#     Rscript tests/reference/make_smooth_by.R
# Writes tests/reference/smooth_by.json: for bs in ("cr", "tp"), with
#   sm <- smoothCon(s(x, by = z, bs = bs, k = 8), data = d, absorb.cons = TRUE)[[1]]
#   re <- smooth2random(sm, "x", type = 2)
# the entries `X` (sm$X: no centring constraint for a numeric by), `Xf` (re$Xf) and `Xr`
# (re$rand$Xr), as lists of rows with 12 significant digits.
suppressPackageStartupMessages({
  library(mgcv)
  library(jsonlite)
})
out_file <- file.path("tests", "reference", "smooth_by.json")
if (!dir.exists(dirname(out_file))) stop("run from the repository root")
rows <- function(m) {
  m <- as.matrix(m)
  unname(lapply(seq_len(nrow(m)), function(i) I(signif(unname(m[i, ]), 12))))
}
set.seed(20261201)
d <- data.frame(x = round(runif(40), 3), z = round(rnorm(40, 1, 1), 3))
result <- list(`_meta` = list(
  R_version = R.version.string,
  mgcv_version = as.character(packageVersion("mgcv")),
  script = "tests/reference/make_smooth_by.R"
), x = d$x, z = d$z, k = 8)
for (bs in c("cr", "tp")) {
  sm <- smoothCon(s(x, by = z, bs = bs, k = 8), data = d, absorb.cons = TRUE)[[1]]
  re <- smooth2random(sm, "x", type = 2)
  result[[bs]] <- list(X = rows(sm$X), Xf = rows(re$Xf), Xr = rows(re$rand$Xr))
}
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, pretty = TRUE), out_file)
