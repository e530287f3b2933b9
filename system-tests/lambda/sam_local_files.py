"""Writes what `make sam-local-test` hands to `sam local`, into OUT_DIR:

- template.yaml: the project's template.yaml with two changes only. The
  functions are x86_64, the host's architecture (the arm64 artifacts would
  need qemu-user: see docs/deploying.md, "sam local"), and each one's
  CodeUri is a directory holding its host-built binary as `bootstrap`, the
  layout `sam build` produces, without rebuilding for Lambda.
- env.json: system-tests/lambda/sam-env.json with the addresses of this run (moto's free
  port on 127.0.0.1, the queues and secret provisioning made).

Usage: python system-tests/lambda/sam_local_files.py OUT_DIR BIN_DIR ENDPOINT QUEUE_URL
CURSOR_SECRET_ARN TABLE BUCKET DELIVERY_QUEUE_URL DELIVERY_DLQ_URL (run with
.venv-lambda's Python: it reads the template with SAM's own YAML loader,
which knows the !Ref/!If tags).
"""

import json
import os
import sys

from samcli.yamlhelper import yaml_dump, yaml_parse


def main(
    out_dir,
    bin_dir,
    endpoint,
    queue_url,
    cursor_secret_arn,
    table,
    bucket,
    delivery_queue_url,
    delivery_dlq_url,
):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "template.yaml")) as f:
        template = yaml_parse(f.read())
    template["Globals"]["Function"]["Architectures"] = ["x86_64"]
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        # No BuildMethod: sam local uses CodeUri as it is.
        del resource["Metadata"]
        code = os.path.join(out_dir, "code", logical_id)
        os.makedirs(code, exist_ok=True)
        bootstrap = os.path.join(code, "bootstrap")
        if os.path.exists(bootstrap):
            os.remove(bootstrap)
        # A hard link when the target dir is on the same file system (no
        # copy of a debug binary), a copy otherwise. Not a symlink: the
        # directory is bind-mounted into the container, where it would dangle.
        try:
            os.link(os.path.join(bin_dir, binary), bootstrap)
        except OSError:
            import shutil

            shutil.copy2(os.path.join(bin_dir, binary), bootstrap)
        resource["Properties"]["CodeUri"] = code
    with open(os.path.join(out_dir, "template.yaml"), "w") as f:
        f.write(yaml_dump(template))

    with open(os.path.join(root, "system-tests", "lambda", "sam-env.json")) as f:
        env = json.load(f)
    env["Parameters"].update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "QUEUE_URL": queue_url,
            "TABLE_NAME": table,
            "RESULTS_BUCKET": bucket,
            "DELIVERY_QUEUE_URL": delivery_queue_url,
        }
    )
    env["ListJobsFunction"]["CURSOR_SECRET_ARN"] = cursor_secret_arn
    env["WebhookSenderFunction"]["DELIVERY_DLQ_URL"] = delivery_dlq_url
    with open(os.path.join(out_dir, "env.json"), "w") as f:
        json.dump(env, f, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:])
