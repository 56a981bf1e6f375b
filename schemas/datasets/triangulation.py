"""Datasets of triangulation and the study report."""

from __future__ import annotations

from schemas.datasets import Dataset
from schemas.report import Contents
from schemas.triangulation import Convergence, JointDisplays, MetaMatrix, Review, Sensitivity

JOINT_DISPLAYS = Dataset("triangulation.joint_displays", "triangulation.joint_displays",
                         "triangulation", JointDisplays,
                         description="each proposition's qualitative and survey evidence")
META_MATRIX = Dataset("triangulation.meta_matrix", "triangulation.meta_matrix", "triangulation",
                      MetaMatrix, description="cases × propositions")
CONVERGENCE = Dataset("triangulation.convergence", "triangulation.convergence", "triangulation",
                      Convergence, description="convergence coding with the researcher's review")
SENSITIVITY = Dataset("triangulation.sensitivity", "triangulation.convergence", "triangulation",
                      Sensitivity, description="each verdict re-derived under neighbouring settings")
REVIEW = Dataset("triangulation.review", "triangulation.convergence", "triangulation", Review,
                 description="the researcher's review rows with re-review flags")
REPORT_HTML = Dataset("report.html", "report", "triangulation", kind="file",
                      formats=(("html", "text/html; charset=utf-8"),),
                      description="the study report, self-contained HTML")
REPORT_MD = Dataset("report.md", "report", "triangulation", kind="file",
                    formats=(("md", "text/markdown; charset=utf-8"),),
                    description="the study report as Markdown")
REPORT_CONTENTS = Dataset("report.contents", "report", "triangulation", Contents,
                          description="which report section shows what, from which data")
