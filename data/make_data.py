"""Generate the demo data sets in data/ (run: python data/make_data.py).

The real data of the classic examples live outside the repository, so the project ships
stand-ins with the same structure, drawn from known values (listed in data/README.md).
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent

# GPA growth: 200 students x 6 occasions, as in Hox's example
GPA_TRUTH = {
    "Intercept": 2.60,
    "occasion": 0.10,
    "sex[T.male]": -0.15,
    "highgpa": 0.09,
    "job[T.1 hour]": -0.05,
    "job[T.2 hours]": -0.10,
    "sd_student_Intercept": 0.20,
    "sd_student_occasion": 0.07,
    "cor_student": -0.10,
    "sigma": 0.20,
}


def make_gpa(seed: int = 20261122) -> pd.DataFrame:
    """GPA stand-in: student, occasion, gpa, job, sex, highgpa, admitted."""
    rng = np.random.default_rng(seed)
    t = GPA_TRUTH
    n_students, n_occasions = 200, 6
    student = np.repeat(np.arange(1, n_students + 1), n_occasions)
    occasion = np.tile(np.arange(n_occasions, dtype=float), n_students)
    sex = rng.choice(["female", "male"], size=n_students)[student - 1]
    highgpa = np.round(rng.uniform(2.0, 4.0, size=n_students), 1)[student - 1]
    admitted = rng.choice(["no", "yes"], p=[0.3, 0.7], size=n_students)[student - 1]
    job = rng.choice(["0 hours", "1 hour", "2 hours"], p=[0.2, 0.5, 0.3], size=student.size)
    sd = np.array([t["sd_student_Intercept"], t["sd_student_occasion"]])
    cov = np.outer(sd, sd) * np.array([[1, t["cor_student"]], [t["cor_student"], 1]])
    u = rng.multivariate_normal(np.zeros(2), cov, size=n_students)[student - 1]
    mean = (
        t["Intercept"]
        + t["occasion"] * occasion
        + t["sex[T.male]"] * (sex == "male")
        + t["highgpa"] * (highgpa - 3.0)
        + t["job[T.1 hour]"] * (job == "1 hour")
        + t["job[T.2 hours]"] * (job == "2 hours")
        + u[:, 0]
        + u[:, 1] * occasion
    )
    gpa = np.round(mean + rng.normal(0, t["sigma"], size=student.size), 2)
    return pd.DataFrame(
        {
            "student": student,
            "occasion": occasion.astype(int),
            "gpa": gpa,
            "job": job,
            "sex": sex,
            "highgpa": highgpa,
            "admitted": admitted,
        }
    )


if __name__ == "__main__":
    make_gpa().to_csv(HERE / "gpa.csv", index=False)
    print(f"wrote {HERE / 'gpa.csv'}")
