"""Survey answers as survey tools export them: the question as a header, no answer id, no customer id."""

from __future__ import annotations

import duckdb
import xlsxwriter

from pipelines.ingestion.raw_layer import data_glob
from tests.ingestion.test_loader import ingest_all

ORDERS = "order_id,customer_id,ordered_at,amount\nA1,101,2024-02-01,10\n"

GOOGLE_FORMS = ("Timestamp,Email address,How likely are you to recommend us to a friend?,"
                "What is the main reason for your score?\n")


def answers(warehouse) -> list[tuple]:
    return duckdb.sql(f"select customer_id, responded_at::varchar, nps_score, comment from "
                      f"read_parquet('{data_glob(warehouse / 'raw' / 'survey_responses')}') order by all").fetchall()


def test_a_google_forms_export_loads_its_answers_keyed_by_their_content(tmp_path):
    """Questions as headers, no answer id: each answer is keyed by a hash of itself, so the next cumulative
    export's repeat of an answer is a duplicate (quarantined), not a second answer. The respondents' e-mail
    column is not taken for customer ids (a shop numbers its customers): the answers are anonymous."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders.csv").write_text(ORDERS)
    (landing / "survey_responses_2024_02.csv").write_text(
        GOOGLE_FORMS + "2024/02/11 10:01:02,a@x.com,10,Great coffee\n2024/02/12 11:00:00,b@x.com,3,\n")
    (landing / "survey_responses_2024_03.csv").write_text(
        GOOGLE_FORMS + "2024/02/11 10:01:02,a@x.com,10,Great coffee\n2024/02/12 11:00:00,b@x.com,3,\n"
        "2024/03/01 09:00:00,c@x.com,3,Cold\n")

    results = ingest_all(landing, warehouse)

    survey = results["survey_responses"]
    assert (survey.rows_loaded, survey.quarantined_by_reason) == (3, {"duplicate_row": 2})
    assert answers(warehouse) == [(None, "2024-02-11 10:01:02", 10, "Great coffee"),
                                  (None, "2024-02-12 11:00:00", 3, None),
                                  (None, "2024-03-01 09:00:00", 3, "Cold")]


def test_french_question_headers_and_a_surveymonkey_respondent_id(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\n101,2024-01-01\n")
    (landing / "orders.csv").write_text(ORDERS)
    (landing / "survey_responses.csv").write_text(
        "Respondent ID;N° client;End Date;Quelle est la probabilité que vous recommandiez notre boutique ?;"
        "Pourquoi cette note ?\n114;101;2024-02-11 10:00;9;Très bon accueil\n")

    results = ingest_all(landing, warehouse)

    assert (results["survey_responses"].rows_loaded, results["survey_responses"].rows_quarantined) == (1, 0)
    assert answers(warehouse) == [("101", "2024-02-11 10:00:00", 9, "Très bon accueil")]


def test_surveymonkeys_workbook_export_skips_its_second_header_row(tmp_path):
    """SurveyMonkey's .xlsx has the CSV's two header rows: the sub-headers are neither loaded nor
    quarantined, and the answers keep their row numbers (the first is row 2)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders.csv").write_text(ORDERS)
    rows = [["Respondent ID", "End Date", "How likely is it that you would recommend Acme to a friend?",
             "What is the primary reason for your score?"],
            [None, None, "Response", "Open-Ended Response"],
            [114227834501, "2024-02-11 10:00:00", 9, "Fast delivery"],
            [114227834502, "2024-02-12 11:00:00", "dix", None]]
    workbook = xlsxwriter.Workbook(landing / "survey_responses_monkey.xlsx")
    sheet = workbook.add_worksheet("Sheet")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    workbook.close()

    results = ingest_all(landing, warehouse)

    survey = results["survey_responses"]
    assert (survey.rows_loaded, survey.quarantined_by_reason) == (1, {"invalid_number": 1})
    raw = warehouse / "raw" / "survey_responses"
    assert duckdb.sql(f"select response_id, nps_score, _source_row from read_parquet('{data_glob(raw)}')"
                      ).fetchall() == [("114227834501", 9, 2)]
    assert duckdb.sql(f"select source_row from read_parquet('{raw / 'quarantine.parquet'}')").fetchall() == [(3,)]
    assert duckdb.sql(f"select rows_read, json_extract(dialect, '$.header_rows')::int "
                      f"from read_parquet('{raw / 'files.parquet'}')").fetchall() == [(2, 2)]


def test_a_qualtrics_export_reads_the_question_row_skips_the_import_ids_and_takes_the_score(tmp_path):
    """Qualtrics writes three header rows: question ids, question texts, then {"ImportId": …} under each;
    beside the score it writes the NPS group (Promoter, Passive, Detractor), which is not the score."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders.csv").write_text(ORDERS)
    (landing / "survey_responses_qualtrics.csv").write_text(
        "StartDate,EndDate,Status,Progress,Finished,RecordedDate,ResponseId,ExternalReference,"
        "DistributionChannel,Q1_NPS_GROUP,Q1,Q2\n"
        "Start Date,End Date,Response Type,Progress,Finished,Recorded Date,Response ID,External Data Reference,"
        "Distribution Channel,How likely are you to recommend us to a friend? - Group,"
        "How likely are you to recommend us to a friend?,What is the main reason for your score?\n"
        + ",".join(f'"{{""ImportId"":""{name}""}}"' for name in (
            "startDate", "endDate", "status", "progress", "finished", "recordedDate", "_recordId",
            "externalDataReference", "distributionChannel", "QID1_NPS_GROUP", "QID1", "QID2_TEXT")) + "\n"
        "2024-03-01 10:00:00,2024-03-01 10:02:00,IP Address,100,True,2024-03-01 10:02:01,R_1,101,email,"
        "Promoter,10,Great\n"
        "2024-03-02 11:00:00,2024-03-02 11:01:00,IP Address,100,True,2024-03-02 11:01:01,R_2,,anonymous,"
        "Detractor,3,Slow\n")

    results = ingest_all(landing, warehouse)

    assert (results["survey_responses"].rows_loaded, results["survey_responses"].rows_quarantined) == (2, 0)
    assert answers(warehouse) == [("101", "2024-03-01 10:02:00", 10, "Great"),
                                  (None, "2024-03-02 11:01:00", 3, "Slow")]


def test_a_delighted_export_is_read_by_its_created_at(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders.csv").write_text(ORDERS)
    (landing / "survey_responses_delighted.csv").write_text(
        "Response ID,Score,Comment,Created At,Updated At,Email,Name,Permalink\n"
        '1001,9,"Great coffee",2024-03-01 10:00:00 +0100,2024-03-01 10:00:00 +0100,a@x.com,Ada,https://x\n')

    ingest_all(landing, warehouse)

    assert answers(warehouse) == [(None, "2024-03-01 09:00:00", 9, "Great coffee")]
