# Reference values for ARMA residuals of orders above 1 (nlme's corARMA), for mixedbayes
# tests. R is never a runtime or test dependency: the tests read the JSON this writes.
#
# Run from the repository root:
#     cd /work/main && Rscript tests/reference/make_arma.R
# Reads ../shared/data/{sleepstudy,gpa}.csv; writes tests/reference/arma.json.
#
# Entries:
# - `sleep_ar2`: lme(Reaction ~ Days, random = ~ 1 | Subject, correlation = corARMA(p = 2,
#   form = ~ Days | Subject), REML); `gpa_ar2_slopes`: GPA with (1 + occasion | student)
#   and corARMA(p = 2). Each: fixed effects with SEs (`fixef_py`: formulaic names), the
#   random-effect sds (and correlation), `sigma`, `Phi` (phi_1, phi_2), logLik.
# - `cormatrix`: nlme's correlation matrix of corARMA(value, p, q) for one level with times
#   0, 1, 3, 4, 7 (gaps), per (p, q); `value` lists phi then theta (nlme's signs: e_t =
#   sum phi_i e_(t-i) + a_t + sum theta_j a_(t-j)).
#   nlme 3.1-162 is wrong when q > p >= 1: for p = 1, q = 2 its lag-2 correlation is
#   theta_1 / (1 + theta_1^2 + theta_2^2) even with phi = 0 (theta_2 / (...) is right), so
#   `acf` also records stats::ARMAacf (lags 0..7), the reference for every case.
# - `unconstrained`: nlme's unconstrained parameters u of the same structures; nlme's
#   partial autocorrelations are tanh(u / 2) (log((1 + r) / (1 - r)) in corStruct.c).

suppressPackageStartupMessages({
  library(nlme)
  library(jsonlite)
})

data_dir <- file.path("..", "shared", "data")
out_file <- file.path("tests", "reference", "arma.json")
if (!dir.exists(data_dir)) stop("data directory ", data_dir, " not found; run from the repository root")

r10 <- function(x) round(x, 10)
named <- function(x) as.list(r10(x))
py_names <- function(nm) ifelse(nm == "(Intercept)", "Intercept", nm)

result <- list(`_meta` = list(
  R_version = R.version.string,
  nlme_version = as.character(packageVersion("nlme")),
  script = "tests/reference/make_arma.R"
))

lme_ar <- function(call_text, data_text) {
  m <- eval(parse(text = call_text))
  fe <- fixef(m)
  se <- sqrt(diag(vcov(m)))
  names(fe) <- py_names(names(fe))
  names(se) <- py_names(names(se))
  re_cov <- as.matrix(m$modelStruct$reStruct[[1]]) * m$sigma^2
  re_sd <- sqrt(diag(re_cov))
  names(re_sd) <- py_names(rownames(re_cov))
  out <- list(
    call = call_text, data = data_text, nobs = nobs(m), method = m$method,
    fixef_py = named(fe), fixef_se_py = named(se), re_sd = named(re_sd),
    sigma = r10(m$sigma),
    Phi = r10(as.numeric(coef(m$modelStruct$corStruct, unconstrained = FALSE))),
    logLik = r10(as.numeric(logLik(m)))
  )
  if (nrow(re_cov) == 2) out$re_cor <- r10(cov2cor(re_cov)[1, 2])
  out
}
# intervals() is not recorded for Phi: for p > 1 nlme transforms the unconstrained
# interval of each coordinate on its own, which is not the coefficient's interval (its
# "interval" for sleepstudy's Phi1 excludes the estimate).

sleep <- read.csv(file.path(data_dir, "sleepstudy.csv"), stringsAsFactors = FALSE)
sleep$Subject <- factor(as.integer(round(sleep$Subject)))
result$sleep_ar2 <- lme_ar(
  paste("lme(Reaction ~ Days, random = ~ 1 | Subject,",
        "correlation = corARMA(p = 2, q = 0, form = ~ Days | Subject),",
        "data = sleep, method = \"REML\")"),
  "../shared/data/sleepstudy.csv")

# GPA needs the random slope: with a random intercept alone nlme's AR(2) takes over the
# within-student correlation and the intercept sd goes to 0 (7e-5), a boundary fit.
gpa <- read.csv(file.path(data_dir, "gpa.csv"), stringsAsFactors = FALSE)
gpa$student <- factor(as.integer(round(gpa$student)))
result$gpa_ar2_slopes <- lme_ar(
  paste("lme(gpa ~ occasion, random = ~ 1 + occasion | student,",
        "correlation = corARMA(p = 2, q = 0, form = ~ occasion | student),",
        "data = gpa, method = \"REML\")"),
  "../shared/data/gpa.csv")

level <- data.frame(t = c(0, 1, 3, 4, 7), g = factor(rep("a", 5)))
structures <- list(
  list(p = 2, q = 0, value = c(0.5, -0.3)),
  list(p = 0, q = 2, value = c(0.4, 0.3)),
  list(p = 2, q = 1, value = c(0.6, -0.2, 0.5)),
  list(p = 1, q = 2, value = c(-0.5, 0.3, -0.2)),
  list(p = 3, q = 1, value = c(0.3, 0.2, -0.25, -0.4))
)
result$times <- level$t
result$cormatrix <- lapply(structures, function(s) {
  cs <- Initialize(corARMA(value = s$value, p = s$p, q = s$q, form = ~ t | g), data = level)
  cm <- corMatrix(cs)
  if (is.list(cm)) cm <- cm[[1]]
  list(p = s$p, q = s$q, value = s$value,
       matrix = unname(lapply(seq_len(5), function(i) r10(unname(cm[i, ])))),
       unconstrained = r10(as.numeric(coef(cs, unconstrained = TRUE))),
       acf = r10(unname(ARMAacf(ar = s$value[seq_len(s$p)], ma = s$value[s$p + seq_len(s$q)],
                                lag.max = max(level$t)))))
})

writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("wrote", out_file, "\n")
