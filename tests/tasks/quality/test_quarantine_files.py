

def test_blamed_inputs_are_those_the_error_names() -> None:
    from schemas.manifest import InputRecord
    from tasks.quality.quarantine_files import blamed_inputs, quarantine_stem

    def rec(name: str, original: str) -> InputRecord:
        return InputRecord(name=name, key=f"raw/x/{original}", sha256="x", version="v", size=1,
                           original_name=original)

    inputs = [rec("survey.w2.export", "wave2.csv"), rec("survey.w2.roster", "roster.csv"),
              rec("survey.w1.export", "wave2.csv")]
    blamed = blamed_inputs(inputs, ("survey.w2.",), "wave2.csv: row 3: must hold ImportId JSON")
    assert [r.name for r in blamed] == ["survey.w2.export"]
    assert quarantine_stem("survey_w2", "survey.w2.export") == "files.survey_w2.survey_w2_export"
