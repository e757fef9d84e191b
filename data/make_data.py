"""Generate the stand-in data sets in data/ and data/README.md (run: python data/make_data.py).

The real data of the classic examples live outside the repository, so the project ships
stand-ins with the same structure. Each script below builds the rows and covariates (the
design of the study) and lets ``mixedbayes.simulate`` draw the response from known values
(``TRUTH``); data/README.md lists those values, written from the simulated data's
``attrs["truth"]`` so that they cannot drift from the CSVs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mixedbayes import simulate

HERE = Path(__file__).parent
SES = ["lowest", "2", "3", "4", "5", "highest"]
HOSPSIZE = ["small", "medium", "large"]

# data set -> keyword arguments of mixedbayes.simulate
TRUTH = {
    "gpa": dict(
        formula="gpa ~ occasion + job + sex + highgpa + (1 + occasion | student)",
        fixed={
            "Intercept": 2.33,  # 2.60 at highgpa = 3
            "occasion": 0.10,
            "job[T.1 hour]": -0.05,
            "job[T.2 hours]": -0.10,
            "sex[T.male]": -0.15,
            "highgpa": 0.09,
        },
        sd={"student": {"Intercept": 0.20, "occasion": 0.07}},
        cor={"student": -0.10},
        sigma=0.20,
    ),
    "pupils": dict(
        formula="achievement ~ sex + ses + primary_denominational + secondary_denominational"
        " + (1 | primary_school_id) + (1 | secondary_school_id)",
        fixed={
            "Intercept": 6.0,
            "sex[T.male]": -0.25,
            "ses[T.2]": 0.13,
            "ses[T.3]": 0.10,
            "ses[T.4]": 0.30,
            "ses[T.5]": 0.35,
            "ses[T.highest]": 0.60,
            "primary_denominational[T.yes]": 0.20,
            "secondary_denominational[T.yes]": 0.10,
        },
        sd={"primary_school_id": 0.42, "secondary_school_id": 0.26},
        sigma=0.69,
    ),
    "nurses": dict(
        formula="stress ~ age + sex + experience + treatment + wardtype + hospsize"
        " + (1 + treatment | hospital) + (1 | hospital:ward)",
        fixed={
            "Intercept": 5.06,
            "age": 0.022,
            "sex[T.Male]": 0.45,
            "experience": -0.062,
            "treatment[T.Training]": -0.70,
            "wardtype[T.special care]": 0.05,
            "hospsize[T.medium]": 0.30,
            "hospsize[T.large]": 0.57,
        },
        sd={"hospital": {"Intercept": 0.47, "treatment[T.Training]": 0.83}, "hospital:ward": 0.33},
        cor={"hospital": -0.52},
        sigma=0.47,
    ),
    "sociometric": dict(
        formula="rating ~ agesend + agerec + sexsend + sexrec + grsize"
        " + (1 | group) + (1 | group:sender) + (1 | group:receiver)",
        fixed={
            "Intercept": 2.1,
            "agesend": 0.23,
            "agerec": 0.21,
            "sexsend[T.Male]": 0.16,
            "sexrec[T.Male]": -0.74,
            "grsize": -0.17,
        },
        sd={"group": 0.65, "group:sender": 0.31, "group:receiver": 0.70},
        sigma=0.65,
    ),
    "speed_dating": dict(
        formula="decision ~ sex + samerace + attractive_sc + sincere_sc + intelligent_sc"
        " + (1 | iid)",
        family="bernoulli",
        fixed={
            "Intercept": -0.74,
            "sex[T.Male]": 0.16,
            "samerace[T.Yes]": 0.31,
            "attractive_sc": 0.50,
            "sincere_sc": 0.09,
            "intelligent_sc": 0.14,
        },
        sd={"iid": 1.65},
    ),
}


def make_gpa(seed: int = 20261122) -> pd.DataFrame:
    """GPA growth: 200 students x 6 occasions; job per occasion, the rest per student."""
    rng = np.random.default_rng(seed)
    n_students, n_occasions = 200, 6
    student = np.repeat(np.arange(1, n_students + 1), n_occasions)
    per_student = pd.DataFrame(
        {
            "sex": rng.choice(["female", "male"], size=n_students),
            "highgpa": np.round(rng.uniform(2.0, 4.0, size=n_students), 1),
            "admitted": rng.choice(["no", "yes"], p=[0.3, 0.7], size=n_students),
        }
    ).iloc[student - 1]
    rows = pd.DataFrame(
        {
            "student": student,
            "occasion": np.tile(np.arange(n_occasions), n_students),
            "job": rng.choice(
                ["0 hours", "1 hour", "2 hours"], p=[0.2, 0.5, 0.3], size=student.size
            ),
            **{column: per_student[column].to_numpy() for column in per_student},
        }
    )
    data = simulate(data=rows, random_seed=rng.integers(2**32), **TRUTH["gpa"])
    data["gpa"] = data["gpa"].round(2)
    return data[["student", "occasion", "gpa", "job", "sex", "highgpa", "admitted"]]


def make_pupils(seed: int = 20261123) -> pd.DataFrame:
    """1000 pupils: 20 per primary school (50), secondary school (30) at random."""
    rng = np.random.default_rng(seed)
    n, n_primary, n_secondary = 1000, 50, 30
    primary = np.repeat(np.arange(1, n_primary + 1), n // n_primary)
    secondary = rng.permutation(np.resize(np.arange(1, n_secondary + 1), n))
    primary_denominational = rng.choice(["no", "yes"], p=[0.42, 0.58], size=n_primary)
    secondary_denominational = rng.choice(["no", "yes"], p=[0.33, 0.67], size=n_secondary)
    ses = rng.choice(SES, p=[0.06, 0.10, 0.15, 0.22, 0.33, 0.14], size=n)
    rows = pd.DataFrame(
        {
            "PUPIL": np.arange(1, n + 1),
            "primary_school_id": primary,
            "secondary_school_id": secondary,
            "sex": rng.choice(["female", "male"], p=[0.47, 0.53], size=n),
            "ses": pd.Categorical(ses, categories=SES),
            "primary_denominational": primary_denominational[primary - 1],
            "secondary_denominational": secondary_denominational[secondary - 1],
        }
    )
    data = simulate(data=rows, random_seed=rng.integers(2**32), **TRUTH["pupils"])
    data["achievement"] = data["achievement"].round(1)
    return data[
        ["PUPIL", "primary_school_id", "secondary_school_id", "achievement", *rows.columns[3:]]
    ]


def make_nurses(seed: int = 20261124) -> pd.DataFrame:
    """25 hospitals x 4 wards x 10 nurses; treatment and ward type: 2 wards each per hospital."""
    rng = np.random.default_rng(seed)
    n_hospitals, n_wards, n_nurses = 25, 4, 10
    hospital = np.repeat(np.arange(1, n_hospitals + 1), n_wards * n_nurses)
    ward = np.tile(np.repeat(np.arange(1, n_wards + 1), n_nurses), n_hospitals)
    halves = np.array([0, 0, 1, 1])
    treatment = np.concatenate([rng.permutation(halves) for _ in range(n_hospitals)])
    wardtype = np.concatenate([rng.permutation(halves) for _ in range(n_hospitals)])
    hospsize = rng.permutation(np.repeat(HOSPSIZE, [9, 12, 4]))
    age = rng.integers(23, 65, size=hospital.size)
    experience = np.clip(np.round(17 + 0.4 * (age - 43) + rng.normal(0, 3.5, age.size)), 1, 40)
    rows = pd.DataFrame(
        {
            "hospital": hospital,
            "ward": ward,
            "wardid": hospital * 10 + ward,
            "nurse": np.arange(1, hospital.size + 1),
            "age": age,
            "sex": rng.choice(["Female", "Male"], p=[0.735, 0.265], size=hospital.size),
            "experience": experience.astype(int),
            "wardtype": np.array(["general care", "special care"])[wardtype].repeat(n_nurses),
            "hospsize": pd.Categorical(hospsize[hospital - 1], categories=HOSPSIZE),
            "treatment": np.array(["Ctrl", "Training"])[treatment].repeat(n_nurses),
        }
    )
    data = simulate(data=rows, random_seed=rng.integers(2**32), **TRUTH["nurses"])
    data["stress"] = data["stress"].round(1)
    columns = ["hospital", "ward", "wardid", "nurse", "age", "sex", "experience", "stress"]
    return data[[*columns, "wardtype", "hospsize", "treatment"]]


def make_sociometric(seed: int = 20261125) -> pd.DataFrame:
    """Every child of 20 groups (5 to 11 children) rates every other child of its group."""
    rng = np.random.default_rng(seed)
    pieces = []
    for group, size in enumerate(rng.integers(5, 12, size=20), start=1):
        age = rng.integers(7, 14, size=size)
        sex = rng.choice(["Female", "Male"], size=size)
        sender, receiver = (a.ravel() for a in np.meshgrid(np.arange(size), np.arange(size)))
        keep = sender != receiver
        sender, receiver = np.sort(sender[keep]), receiver[keep][np.argsort(sender[keep])]
        pieces.append(
            pd.DataFrame(
                {
                    "group": group,
                    "sender": sender + 1,
                    "receiver": receiver + 1,
                    "agesend": age[sender],
                    "sexsend": sex[sender],
                    "agerec": age[receiver],
                    "sexrec": sex[receiver],
                    "grsize": size,
                }
            )
        )
    rows = pd.concat(pieces, ignore_index=True)
    data = simulate(data=rows, random_seed=rng.integers(2**32), **TRUTH["sociometric"])
    data["rating"] = data["rating"].round(1)
    return data[["group", "sender", "receiver", "rating", *rows.columns[3:]]]


def make_speed_dating(seed: int = 20261126) -> pd.DataFrame:
    """20 waves; every woman meets every man of her wave, and both decide Yes or No."""
    rng = np.random.default_rng(seed)
    pieces, first = [], 1
    for wave in range(1, 21):
        women, men = rng.integers(9, 19, size=2)
        ids = np.arange(first, first + women + men)
        first += women + men
        race = rng.choice(5, p=[0.55, 0.25, 0.1, 0.05, 0.05], size=ids.size)
        woman, man = (a.ravel() for a in np.meshgrid(np.arange(women), women + np.arange(men)))
        for rater, partner, sex in ((woman, man, "Female"), (man, woman, "Male")):
            pieces.append(
                pd.DataFrame(
                    {
                        "iid": ids[rater],
                        "partner_id": ids[partner],
                        "wave": wave,
                        "sex": sex,
                        "samerace": np.where(race[rater] == race[partner], "Yes", "No"),
                    }
                )
            )
    rows = pd.concat(pieces, ignore_index=True).sort_values(["iid", "partner_id"])
    looks = rng.normal(0, 1.0, size=first)  # how attractive each participant is rated
    for name, mean, spread, person in (
        ("attractive", 6.2, 1.6, looks),
        ("sincere", 7.2, 1.6, np.zeros(first)),
        ("intelligent", 7.4, 1.4, np.zeros(first)),
    ):
        noise = rng.normal(0, spread, size=len(rows))
        rows[name] = np.clip(np.round(mean + person[rows["partner_id"]] + noise), 0, 10)
        rows[f"{name}_sc"] = (rows[name] - rows[name].mean()).round(4)
    data = simulate(
        data=rows.reset_index(drop=True), random_seed=rng.integers(2**32), **TRUTH["speed_dating"]
    )
    data["decision"] = np.where(data["decision"] == 1, "Yes", "No")
    for name, share in (("attractive", 0.025), ("sincere", 0.035), ("intelligent", 0.035)):
        missing = rng.random(len(data)) < share  # missing completely at random, after drawing
        data.loc[missing, [name, f"{name}_sc"]] = np.nan
    return data


# data set -> (title, structure, notes, {column: meaning})
ABOUT = {
    "gpa": (
        "GPA growth (after Hox, Multilevel Analysis)",
        "200 students x 6 occasions (longitudinal)",
        "gpa is rounded to 2 decimals after drawing. The intercept is 2.60 at highgpa = 3.",
        {
            "student": "student id (1-200)",
            "occasion": "measurement occasion, 0-5 (semesters)",
            "gpa": "grade point average (response)",
            "job": "hours of work that semester: 0 hours, 1 hour, 2 hours",
            "sex": "female, male (per student)",
            "highgpa": "high-school GPA, 2.0-4.0 (per student)",
            "admitted": "admitted to the university of choice: no, yes (not in the model)",
        },
    ),
    "pupils": (
        "Pupils in crossed schools (after Hox, Multilevel Analysis)",
        "1000 pupils, 20 in each of 50 primary schools, secondary school (30) at random",
        "achievement is rounded to 1 decimal. ses levels in order lowest, 2, 3, 4, 5, highest "
        "(lowest is the reference; load_dataset keeps that order).",
        {
            "PUPIL": "pupil id",
            "primary_school_id": "primary school (1-50)",
            "secondary_school_id": "secondary school (1-30)",
            "achievement": "achievement score at the end of secondary school (response)",
            "sex": "female, male",
            "ses": "socio-economic status: lowest, 2, 3, 4, 5, highest",
            "primary_denominational": "primary school is denominational: no, yes",
            "secondary_denominational": "secondary school is denominational: no, yes",
        },
    ),
    "nurses": (
        "Nurses in wards in hospitals (after Hox, Multilevel Analysis)",
        "25 hospitals x 4 wards x 10 nurses (nested); in each hospital 2 wards had the "
        "training and 2 are special-care wards, both at random",
        "stress is rounded to 1 decimal. hospsize levels in order small, medium, large.",
        {
            "hospital": "hospital (1-25)",
            "ward": "ward within hospital (1-4)",
            "wardid": "unique ward id, 10 x hospital + ward",
            "nurse": "nurse id",
            "age": "age in years, 23-64",
            "sex": "Female, Male",
            "experience": "years of experience (correlates with age)",
            "stress": "job-related stress (response)",
            "wardtype": "general care, special care (per ward)",
            "hospsize": "hospital size: small, medium, large",
            "treatment": "stress-management training of the ward: Ctrl, Training",
        },
    ),
    "sociometric": (
        "Sociometric ratings (after Hox, Multilevel Analysis)",
        "20 groups of 5-11 children; every child rates every other child of its group "
        "(sender and receiver crossed within group)",
        "rating is rounded to 1 decimal.",
        {
            "group": "group (1-20)",
            "sender": "child who rates (numbered within group)",
            "receiver": "child who is rated (numbered within group)",
            "rating": "how much the sender likes the receiver (response)",
            "agesend": "sender's age, 7-13",
            "sexsend": "sender's sex: Female, Male",
            "agerec": "receiver's age",
            "sexrec": "receiver's sex",
            "grsize": "number of children in the group",
        },
    ),
    "speed_dating": (
        "Speed dating (after Fisman et al.)",
        "20 waves of 9-18 women and 9-18 men; everyone meets every participant of the "
        "other sex in the wave and decides Yes or No",
        "decision is drawn as P(Yes); after drawing, 2.5% of attractive and 3.5% of "
        "sincere and intelligent ratings (with their _sc columns) were removed completely "
        "at random, so complete-case fits stay unbiased.",
        {
            "iid": "participant (rater)",
            "partner_id": "the participant met (iid of the partner)",
            "wave": "speed-dating event (1-20)",
            "sex": "rater's sex: Female, Male",
            "samerace": "rater and partner share a race: No, Yes",
            "attractive, sincere, intelligent": "rater's ratings of the partner, 0-10",
            "attractive_sc, sincere_sc, intelligent_sc": "the ratings minus their mean",
            "decision": "rater wants to meet the partner again: No, Yes (response)",
        },
    ),
}
MAKERS = {
    "gpa": make_gpa,
    "pupils": make_pupils,
    "nurses": make_nurses,
    "sociometric": make_sociometric,
    "speed_dating": make_speed_dating,
}


def describe(name: str, data: pd.DataFrame) -> str:
    """The README section of one data set, with the values from data.attrs["truth"]."""
    title, structure, notes, columns = ABOUT[name]
    truth = data.attrs["truth"]
    lines = [
        f"## {name}.csv: {title}",
        "",
        f"{len(data)} rows x {data.shape[1]} columns; {structure}.",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| {column} | {meaning} |" for column, meaning in columns.items()]
    family = truth["family"] + ("" if truth["link"] == "identity" else f" ({truth['link']} link)")
    lines += [
        "",
        f"Generated by `mb.simulate` with `{data.attrs['formula']}`, family {family}:",
        "",
    ]
    lines += ["| parameter | value |", "|---|---|"]
    lines += [f"| fixed `{term}` | {value:g} |" for term, value in truth["fixed"].items()]
    for group, sds in truth["sd"].items():
        lines += [f"| sd `{group}` `{term}` | {value:g} |" for term, value in sds.items()]
    for group, matrix in truth["cor"].items():
        terms = list(matrix)
        lines += [
            f"| cor `{group}` `{a}`, `{b}` | {matrix[a][b]:g} |"
            for i, a in enumerate(terms)
            for b in terms[i + 1 :]
        ]
    for aux in ("sigma", "nu", "shape", "phi"):
        if aux in truth:
            lines.append(f"| {aux} | {truth[aux]:g} |")
    return "\n".join([*lines, "", notes, ""])


HEADER = """# Stand-in data sets

Simulated with known values by `data/make_data.py` (`make data`, or
`python data/make_data.py`), which also writes this file. They have the structure of the
classic examples whose real data live in `../shared/data` (not shipped here), so demos,
docs and tests can run anywhere; fitting the generating formula should recover the values
below. Read them with `mb.load_dataset(name)` (text columns become categoricals, in the
level order given below) or `pd.read_csv("data/NAME.csv")`. The term names are those of
`fit.fixef()` and `fit.varcorr()`.
"""


if __name__ == "__main__":
    sections = [HEADER]
    for name, make in MAKERS.items():
        data = make()
        data.to_csv(HERE / f"{name}.csv", index=False)
        sections.append(describe(name, data))
        print(f"wrote {HERE / name}.csv ({len(data)} rows)")
    (HERE / "README.md").write_text("\n".join(sections))
    print(f"wrote {HERE / 'README.md'}")
