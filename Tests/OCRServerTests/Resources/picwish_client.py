#!/usr/bin/env python3
"""A PicWish document OCR client, written from the public API description only.

    picwish_client.py [--base-url URL] [--api-key KEY] [--format txt] [--language English]
                      [--password PW] [--output FILE] DOCUMENT

Creates a task with `image_file` (POST /api/tasks/document/ocr, header X-API-KEY),
polls GET /api/tasks/document/ocr/{task_id} until `data.state` is 1 (success) or negative
(failure), downloads `data.file`, and prints it (txt) or writes it to --output. Pointing
--base-url at ocr-server instead of https://techsz.aoscdn.com is the only change needed.
"""
import argparse
import sys
import time

import requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("document")
    parser.add_argument("--base-url", default="https://techsz.aoscdn.com")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--format", default="txt")
    parser.add_argument("--language", default="ChinesePRC,English,Digits")
    parser.add_argument("--password")
    parser.add_argument("--output")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    headers = {"X-API-KEY": args.api_key}
    data = {"format": args.format, "language": args.language}
    if args.password:
        data["password"] = args.password
    with open(args.document, "rb") as document:
        reply = requests.post(
            f"{args.base_url}/api/tasks/document/ocr", headers=headers, data=data,
            files={"image_file": document}, timeout=60,
        )
    reply.raise_for_status()
    body = reply.json()
    if body.get("status") != 200:
        sys.exit(f"create failed: {body}")
    task_id = body["data"]["task_id"]

    deadline = time.monotonic() + args.timeout
    delay = 0.5
    while True:
        reply = requests.get(f"{args.base_url}/api/tasks/document/ocr/{task_id}", headers=headers, timeout=60)
        reply.raise_for_status()
        task = reply.json()["data"]
        state = int(task["state"])
        if state == 1:
            break
        if state < 0:
            sys.exit(f"task {task_id} failed with state {state}: {task.get('state_detail', '')}")
        if time.monotonic() > deadline:
            sys.exit(f"task {task_id} did not finish in {args.timeout} s (progress {task.get('progress')})")
        time.sleep(delay)
        delay = min(delay * 1.5, 5)

    result = requests.get(task["file"], timeout=60)
    result.raise_for_status()
    if args.output:
        with open(args.output, "wb") as out:
            out.write(result.content)
    else:
        sys.stdout.write(result.content.decode("utf-8"))


if __name__ == "__main__":
    main()
