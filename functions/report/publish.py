"""Where a report goes: a directory, or S3 (then announced on SNS for the fan-out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.common.errors import Unavailable
from functions.report import charts, render

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

    from functions.common.s3url import S3Location


def files(report: dict[str, Any], with_charts: bool = True) -> dict[str, bytes]:
    """File name -> content: ``report.json``, ``report.md`` and the PNG charts."""
    pngs = charts.draw(report) if with_charts else {}
    names = {name: f"{name}.png" for name in pngs}
    out = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False).encode(),
        "report.md": render.markdown(report, names).encode(),
    }
    out.update({names[n]: data for n, data in pngs.items()})
    return out


def stem(report: dict[str, Any]) -> str:
    return f"{report['report']}/{report['period']['label']}"


def to_dir(report: dict[str, Any], out_dir: Path, with_charts: bool = True) -> list[str]:
    target = out_dir / stem(report)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files(report, with_charts).items():
        (target / name).write_bytes(data)
        written.append(str(target / name))
    return written


CONTENT_TYPES = {".json": "application/json", ".md": "text/markdown", ".png": "image/png"}


def to_s3(
    report: dict[str, Any], s3: S3Client, dest: S3Location, with_charts: bool = True
) -> list[str]:
    """Objects under ``dest/<period>/<label>/``; the JSON last, so a report whose JSON exists
    is complete. The same period again replaces it (the figures are reproducible)."""
    items = sorted(files(report, with_charts).items(), key=lambda kv: kv[0] == "report.json")
    urls = []
    try:
        for name, data in items:
            key = dest.key(stem(report), name)
            s3.put_object(
                Bucket=dest.bucket,
                Key=key,
                Body=data,
                ServerSideEncryption="AES256",
                ContentType=CONTENT_TYPES[Path(name).suffix],
            )
            urls.append(f"s3://{dest.bucket}/{key}")
    except Exception as err:
        raise Unavailable(f"S3 refused the report: {err}") from err
    return urls


def announcement(report: dict[str, Any], urls: list[str]) -> dict[str, Any]:
    """The SNS message (JSON) the fan-out delivers: what, where, and the headline figures."""
    headline = {}
    for mode, data in report["modes"].items():
        t = data["totals"]
        headline[mode] = {
            k: t[k] for k in ("attempts", "succeeded", "success_rate", "net", "net_quote", "gas")
        }
        headline[mode]["targets_missed"] = [
            x["source"] for x in data["targets"] if x["met"] is False
        ]
    return {
        "kind": "report",
        "report": report["report"],
        "period": report["period"],
        "capital": report["capital"]["symbol"],
        "quote": report["quote"]["symbol"] if report["quote"] else None,
        "objects": urls,
        "headline": headline,
    }


def announce(sns: SNSClient, topic_arn: str, message: dict[str, Any]) -> str:
    subject = f"{message['report'].capitalize()} trading report {message['period']['label']}"
    try:
        answer = sns.publish(
            TopicArn=topic_arn,
            Subject=subject[:100],
            Message=json.dumps(message),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "report"}},
        )
    except Exception as err:
        raise Unavailable(f"SNS refused the report's announcement: {err}") from err
    return answer["MessageId"]
