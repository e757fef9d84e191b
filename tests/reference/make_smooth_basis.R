# Reference spline bases in mixed-model form (mgcv) for tests/unit/test_smooth_basis.py.
#
# Run from the repository root:
#     cd /work/main && Rscript tests/reference/make_smooth_basis.R
# Writes tests/reference/smooth_basis.json. Needs mgcv, MASS and jsonlite.
#
# For each case and bs in ("cr", "tp"):
#   sm <- smoothCon(s(x, bs = bs, k = k), data = data.frame(x = x), absorb.cons = TRUE)[[1]]
#   re <- smooth2random(sm, "x", type = 2)
# and entries `X` (sm$X, the constrained basis), `S` (sm$S[[1]]), `Xf` (re$Xf), `Xr`
# (re$rand$Xr), `trans_D`, `trans_U`, `knots` (cr: sm$xp), `shift` (tp: sm$shift), and the
# new-data evaluation at `x_new` (points inside and outside the training range):
#   P <- PredictMat(sm, data.frame(x = x_new)) %*% re$trans.U %*% diag(re$trans.D)
# split into `Xr_new` (first ncol(Xr) columns) and `Xf_new` (the rest).
# For x longer than 200 only the training rows `rows` (1-based, every 10th) of X, Xf and Xr
# are written. Matrices are lists of rows with 12 significant digits; x, x_new, knots, shift
# and trans_D have 15.

suppressPackageStartupMessages({
  library(mgcv)
  library(MASS)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "smooth_basis.json")
if (!dir.exists(dirname(out_file))) stop("run from the repository root")

rows <- function(m) {
  m <- as.matrix(m)
  unname(lapply(seq_len(nrow(m)), function(i) I(signif(unname(m[i, ]), 12))))
}

data(mcycle, package = "MASS")
set.seed(20240601)
cases <- list(
  equal11_k5 = list(x = seq(0, 1, length.out = 11), k = 5),
  mcycle_k10 = list(x = mcycle$times, k = 10),
  ties_k6 = list(x = round(rgamma(60, shape = 2, rate = 1), 1), k = 6),
  offset_k8 = list(x = 50 + 10 * sin(1:30), k = 8),
  sqrt_k3 = list(x = sqrt(1:20), k = 3),
  # 600 unique values: mixedbayes takes the Lanczos (eigsh) route for tp
  normal600_k6 = list(x = rnorm(600, 3, 2), k = 6),
  # exactly k unique values: tp skips the eigen step ("pure knot" basis), cr knots = data
  pure_k7 = list(x = rep(c(0.3, 1.1, 1.5, 2.9, 3.0, 4.2, 6.0), times = c(3, 1, 2, 2, 1, 4, 2)),
                 k = 7)
)

result <- list(`_meta` = list(
  R_version = R.version.string,
  mgcv_version = as.character(packageVersion("mgcv")),
  script = "tests/reference/make_smooth_basis.R"
))

for (name in names(cases)) {
  x <- cases[[name]]$x
  k <- cases[[name]]$k
  r <- range(x)
  x_new <- c(r[1] - 0.15 * diff(r), r[1], quantile(x, c(0.1, 0.37, 0.5, 0.81)), x[2], r[2],
             r[2] + 0.25 * diff(r))
  x_new <- unname(x_new)
  keep <- if (length(x) > 200) seq(1, length(x), by = 10) else seq_along(x)
  case <- list(x = x, k = k, x_new = x_new, rows = keep)
  for (bs in c("cr", "tp")) {
    sm <- smoothCon(s(x, bs = bs, k = k), data = data.frame(x = x), absorb.cons = TRUE)[[1]]
    re <- smooth2random(sm, "x", type = 2)
    p <- ncol(re$rand$Xr)
    P <- PredictMat(sm, data.frame(x = x_new)) %*% re$trans.U %*% diag(re$trans.D)
    b <- list(
      call = sprintf(paste("sm <- smoothCon(s(x, bs = \"%s\", k = %d), data = data.frame(x = x),",
                           "absorb.cons = TRUE)[[1]]; re <- smooth2random(sm, \"x\", type = 2)"),
                     bs, k),
      X = rows(sm$X[keep, ]), S = rows(sm$S[[1]]),
      Xf = rows(re$Xf[keep, , drop = FALSE]), Xr = rows(re$rand$Xr[keep, , drop = FALSE]),
      trans_D = re$trans.D, trans_U = rows(re$trans.U),
      Xr_new = rows(P[, seq_len(p), drop = FALSE]),
      Xf_new = rows(P[, -seq_len(p), drop = FALSE])
    )
    if (bs == "cr") b$knots <- unname(sm$xp)
    if (bs == "tp") b$shift <- unname(sm$shift)
    case[[bs]] <- b
  }
  result[[name]] <- case
}

json <- toJSON(result, auto_unbox = TRUE, digits = NA, na = "null", null = "null")
writeLines(json, out_file)
cat("wrote", out_file, "\n")
