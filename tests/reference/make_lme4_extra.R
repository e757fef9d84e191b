# Extra lme4 reference fits for mixedbayes tests.
#
# Run from the repository root:
#     cd /work/main && Rscript tests/reference/make_lme4_extra.R
# Reads ../shared/data/*.csv and writes tests/reference/lme4_extra.json in the same
# format as ../shared/reference/lme4_reference.json (per model: formula, seconds, nobs,
# fixef, fixef_se, varcorr, ranef, singular), plus `family`, an optional `note` (convergence
# or other warnings) and, where lme4's group names differ from mixedbayes', `group_map`.
# Top-level `_meta` records the R and lme4 versions.
#
# Conventions (as in the shared reference): group ids are factors; `hospsize` levels are
# small, medium, large; `treatment` Ctrl, Training; other factors alphabetical, first level
# as reference. Gaussian models are REML fits, GLMMs Laplace fits (nAGQ = 1).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

data_dir <- file.path("..", "shared", "data")
out_file <- file.path("tests", "reference", "lme4_extra.json")
if (!dir.exists(data_dir)) {
  stop("data directory ", data_dir, " not found; run from the repository root")
}

read_data <- function(name) {
  read.csv(file.path(data_dir, name), stringsAsFactors = FALSE)
}

# Numeric ids (stored as "1.0") -> factor with levels in numeric order, labelled "1", "2", ...
id_factor <- function(x) {
  if (is.numeric(x)) {
    x <- as.integer(round(x))
  }
  if (is.character(x) && all(grepl("^-?[0-9]+(\\.0+)?$", x))) {
    x <- as.integer(round(as.numeric(x)))
  }
  factor(x)
}

# ---- data -------------------------------------------------------------------------------

nurses <- read_data("nurses.csv")
for (v in c("hospital", "ward", "wardid", "nurse")) nurses[[v]] <- id_factor(nurses[[v]])
nurses$sex <- factor(nurses$sex)
nurses$wardtype <- factor(nurses$wardtype)
nurses$hospsize <- factor(nurses$hospsize, levels = c("small", "medium", "large"))
nurses$treatment <- factor(nurses$treatment, levels = c("Ctrl", "Training"))
stopifnot(!anyNA(nurses$hospsize), !anyNA(nurses$treatment))

socio <- read_data("sociometric.csv")
for (v in c("group", "sender", "receiver")) socio[[v]] <- id_factor(socio[[v]])
socio$sexsend <- factor(socio$sexsend)
socio$sexrec <- factor(socio$sexrec)

sleep <- read_data("sleepstudy.csv")
sleep$Subject <- id_factor(sleep$Subject)

cbpp <- read_data("cbpp.csv")
cbpp$herd <- id_factor(cbpp$herd)
cbpp$period <- id_factor(cbpp$period)

grouse <- read_data("grouseticks.csv")
for (v in c("BROOD", "LOCATION", "YEAR", "INDEX")) grouse[[v]] <- id_factor(grouse[[v]])

patents <- read_data("patents.csv")
patents$year <- id_factor(patents$year)

# ---- id-repetition checks (printed; see report) -----------------------------------------

nested_check <- function(d, inner, outer) {
  per_id <- tapply(d[[outer]], d[[inner]], function(g) length(unique(g)))
  n_pairs <- nrow(unique(d[, c(outer, inner)]))
  cat(sprintf("%s: %d distinct ids; max %s per id = %d; distinct %s:%s pairs = %d -> %s\n",
              inner, nlevels(droplevels(d[[inner]])), outer, max(per_id), outer, inner, n_pairs,
              if (max(per_id) > 1) "ids repeat across groups (need the interaction)"
              else "ids unique"))
}
nested_check(nurses, "ward", "hospital")
nested_check(socio, "sender", "group")
nested_check(socio, "receiver", "group")

# ---- fitting and extraction ---------------------------------------------------------------

r8 <- function(x) round(x, 8)

fit_model <- function(formula, data, family) {
  warns <- character(0)
  t0 <- Sys.time()
  m <- withCallingHandlers(
    if (family == "gaussian") {
      lmer(formula, data = data, REML = TRUE)
    } else {
      glmer(formula, data = data, family = family, nAGQ = 1)
    },
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  secs <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  msgs <- unique(c(warns, m@optinfo$conv$lme4$messages,
                   unlist(lapply(m@optinfo$warnings, as.character))))
  list(model = m, seconds = secs, messages = msgs)
}

# When lme4 reports a convergence problem, refit with another optimizer and record how far the
# estimates move, so the note says whether the reference values can be trusted.
optimizer_check <- function(formula, data, family, m) {
  alt <- "Nelder_Mead"
  m2 <- suppressWarnings(
    if (family == "gaussian") {
      lmer(formula, data = data, REML = TRUE, control = lmerControl(optimizer = alt))
    } else {
      glmer(formula, data = data, family = family, nAGQ = 1,
            control = glmerControl(optimizer = alt))
    })
  sprintf("refit with %s: max |fixef diff| = %.2g, max |theta diff| = %.2g, logLik diff = %.2g",
          alt, max(abs(fixef(m2) - fixef(m))), max(abs(getME(m2, "theta") - getME(m, "theta"))),
          as.numeric(logLik(m2) - logLik(m)))
}

extract <- function(fit, family, formula_text) {
  m <- fit$model
  fe <- fixef(m)
  se <- sqrt(diag(as.matrix(vcov(m))))
  names(se) <- names(fe)

  vc <- as.data.frame(VarCorr(m))
  varcorr <- lapply(seq_len(nrow(vc)), function(i) {
    list(grp = vc$grp[i],
         var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
         var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
         vcov = r8(vc$vcov[i]),
         sdcor = r8(vc$sdcor[i]))
  })
  # jsonlite writes NULL list elements as {}; use NA (written as null) instead.
  varcorr <- lapply(varcorr, function(row) {
    if (is.null(row$var1)) row$var1 <- NA
    if (is.null(row$var2)) row$var2 <- NA
    row[c("grp", "var1", "var2", "vcov", "sdcor")]
  })

  re <- as.data.frame(ranef(m, condVar = TRUE))
  ranef_out <- list()
  for (g in unique(as.character(re$grpvar))) {
    rg <- re[as.character(re$grpvar) == g, ]
    terms <- list()
    for (tm in unique(as.character(rg$term))) {
      rt <- rg[as.character(rg$term) == tm, ]
      terms[[tm]] <- list(level = I(as.character(rt$grp)),
                          value = I(r8(rt$condval)),
                          sd = I(r8(rt$condsd)))
    }
    ranef_out[[g]] <- terms
  }

  out <- list(
    formula = formula_text,
    seconds = r8(fit$seconds),
    nobs = nobs(m),
    fixef = as.list(r8(fe)),
    fixef_se = as.list(r8(se)),
    varcorr = varcorr,
    ranef = ranef_out,
    singular = isSingular(m),
    family = family
  )
  if (length(fit$messages) > 0) {
    out$note <- gsub("\\s+", " ", paste(fit$messages, collapse = "; "))
  }
  out
}

specs <- list(
  nurses_nested = list(
    formula = stress ~ age + sex + experience + treatment + wardtype + hospsize +
      (1 | hospital/ward),
    data = nurses, family = "gaussian",
    # lme4 names the nested term ward:hospital; mixedbayes names it outer:inner.
    group_map = list("ward:hospital" = "hospital:ward", "hospital" = "hospital")),
  nurses_slope = list(
    formula = stress ~ age + sex + experience + treatment + wardtype + hospsize +
      (1 + treatment | hospital) + (1 | hospital:ward),
    data = nurses, family = "gaussian"),
  sociometric_crossed = list(
    formula = rating ~ agesend + agerec + sexsend + sexrec + grsize +
      (1 | group) + (1 | group:sender) + (1 | group:receiver),
    data = socio, family = "gaussian"),
  sleep_uncorr = list(
    formula = Reaction ~ Days + (1 + Days || Subject),
    data = sleep, family = "gaussian",
    # `||` splits into two terms; VarCorr names the second one Subject.1.
    group_map = list("Subject" = "Subject", "Subject.1" = "Subject")),
  cbpp_binomial = list(
    formula = cbind(incidence, size - incidence) ~ period + (1 | herd),
    data = cbpp, family = "binomial"),
  grouse_poisson = list(
    formula = TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION),
    data = grouse, family = "poisson"),
  # patents.csv has no grouping column besides `year` (`subject` is a row id).
  patents_poisson = list(
    formula = ncit ~ yearc + ncountryc + nclaimsc + biopharm + ustwin + patus + patgsgr +
      (1 | year),
    data = patents, family = "poisson"),
  patents_logit = list(
    formula = opposition ~ yearc + ncountryc + nclaimsc + biopharm + ustwin + patus +
      patgsgr + (1 | year),
    data = patents, family = "binomial")
)

result <- list(`_meta` = list(
  lme4_version = as.character(packageVersion("lme4")),
  R_version = R.version.string,
  Matrix_version = as.character(packageVersion("Matrix")),
  script = "tests/reference/make_lme4_extra.R"
))

for (name in names(specs)) {
  s <- specs[[name]]
  fit <- fit_model(s$formula, s$data, s$family)
  # Formula as written (as in the shared file: deparse pasted together); for `||` this keeps
  # the double bar instead of lme4's expanded ((1 | Subject) + (0 + Days | Subject)).
  out <- extract(fit, s$family, paste(deparse(s$formula), collapse = ""))
  if (!is.null(out$note)) {
    out$note <- paste0(out$note, " [", optimizer_check(s$formula, s$data, s$family,
                                                        fit$model), "]")
  }
  if (!is.null(s$group_map)) out$group_map <- s$group_map
  result[[name]] <- out
  cat(sprintf("%-20s nobs=%d singular=%s %s\n", name, out$nobs, out$singular,
              if (is.null(out$note)) "" else paste("NOTE:", out$note)))
}

json <- toJSON(result, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
               pretty = FALSE)
writeLines(prettify(json, indent = 1), out_file)
cat("wrote", out_file, "\n")
