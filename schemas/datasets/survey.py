"""Datasets of a survey wave, from intake to figures; `{wave}` is the wave's key in study.yaml."""

from __future__ import annotations

from schemas.datasets import Dataset
from schemas.survey import (
    AnalysisLabels,
    AnalysisTable,
    Answers,
    Associations,
    Change,
    Cleaning,
    Coverage,
    Estimates,
    FreeTextAgreement,
    FreeTextCategories,
    FreeTextCoded,
    FreeTextUncoded,
    Intake,
    Means,
    Profile,
    Removed,
    Respondents,
    Responses,
    WeightMargins,
    WeightSummary,
)

REMOVED = Dataset("survey.{wave}.removed", "survey.intake", "survey", Removed,
                  description="rows removed by cleaning, with step and reason")
CLEANING = Dataset("survey.{wave}.cleaning", "survey.intake", "survey", Cleaning,
                   description="rows in, removed and out per cleaning step")
INTAKE = Dataset("survey.{wave}.intake", "survey.intake", "survey", Intake,
                 description="rows in = rows kept + rows quarantined, per input table")
RESPONSES = Dataset("survey.{wave}.responses", "survey.intake", "survey", Responses,
                    description="kept submissions, pseudonymised, with their recoded items side by "
                                "side (between steps)", intermediate=True)
RESPONDENTS = Dataset("survey.{wave}.respondents", "survey.weights", "survey", Respondents,
                      description="one row per kept respondent, with the raking weight")
WEIGHTS = Dataset("survey.{wave}.weights", "survey.weights", "survey", WeightMargins,
                  description="weighting margins: roster and weighted sample shares")
WEIGHT_SUMMARY = Dataset("survey.{wave}.weight_summary", "survey.weights", "survey", WeightSummary,
                         description="weights' range, CV, Kish design effect and effective n")
ANSWERS = Dataset("survey.{wave}.answers", "survey.answers", "survey", Answers,
                  description="answers in long form, one row per respondent and item")
COVERAGE = Dataset("survey.{wave}.coverage", "survey.coverage", "survey", Coverage,
                   description="sites covered and members responding, by breakdown")
PROFILE = Dataset("survey.{wave}.profile", "survey.coverage", "survey", Profile,
                  description="respondents' roles against the roster's")
ESTIMATES = Dataset("survey.{wave}.estimates", "survey.estimates", "survey", Estimates,
                    description="proportions with Wilson and design-based intervals")
MEANS = Dataset("survey.{wave}.means", "survey.estimates", "survey", Means,
                description="means of Likert and numeric items")
ASSOCIATIONS = Dataset("survey.{wave}.associations", "survey.associations", "survey", Associations,
                       description="chi-square / Fisher tests of answers by breakdown")
CHANGE = Dataset("survey.{wave}.change", "survey.change", "survey", Change,
                 description="change of each estimate since the previous wave")
FREETEXT = Dataset("survey.{wave}.freetext", "survey.freetext", "survey", FreeTextCategories,
                   description="free-text categories' frequencies by breakdown")
FREETEXT_CODED = Dataset("survey.{wave}.freetext_coded", "survey.freetext", "survey", FreeTextCoded,
                         description="free-text answers coded by the dictionaries")
FREETEXT_UNCODED = Dataset("survey.{wave}.freetext_uncoded", "survey.freetext", "survey",
                           FreeTextUncoded, description="open answers no category matched, redacted")
FREETEXT_AGREEMENT = Dataset("survey.{wave}.freetext_agreement", "survey.freetext", "survey",
                             FreeTextAgreement,
                             description="dictionary coding against the human-coded sample")
FIGURES = Dataset("survey.{wave}.{figure}", "survey.figures", "survey", kind="figure",
                  formats=(("png", "image/png"), ("svg", "image/svg+xml")),
                  description="the wave's figures, each as PNG and SVG")
ANALYSIS_SAV = Dataset("survey.{wave}.analysis_sav", "survey.analysis_file", "survey", kind="file",
                      formats=(("sav", "application/x-spss-sav"),),
                      description="analysis-ready respondents × variables with weights, SPSS, labelled")
ANALYSIS_DTA = Dataset("survey.{wave}.analysis_dta", "survey.analysis_file", "survey", kind="file",
                       formats=(("dta", "application/x-stata-dta"),),
                       description="the same analysis file for Stata, labelled")
ANALYSIS = Dataset("survey.{wave}.analysis", "survey.analysis_file", "survey", AnalysisTable,
                   description="the same analysis file as a table (parquet)")
ANALYSIS_LABELS = Dataset("survey.{wave}.analysis_labels", "survey.analysis_file", "survey",
                          AnalysisLabels,
                          description="variable and value labels of the analysis file's columns")
