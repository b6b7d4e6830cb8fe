#!/usr/bin/env python3
"""Create Inlet's table in a local DynamoDB (moto's server, DynamoDB Local) from the
table definition in template.yaml, so the template stays the one source of truth.

Usage: local_table.py --endpoint http://127.0.0.1:8000 [--table inlet] [--template template.yaml]
Needs boto3 and PyYAML (both come with moto).
"""
import argparse
import sys

import boto3
import yaml


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...) as plain values."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                                if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node))


def table_definition(template_path):
    with open(template_path) as f:
        template = yaml.load(f, Loader=CfnLoader)
    props = template["Resources"]["Table"]["Properties"]
    return {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--table", default="inlet")
    p.add_argument("--template", default="template.yaml")
    p.add_argument("--region", default="us-east-1")
    a = p.parse_args()
    ddb = boto3.client("dynamodb", endpoint_url=a.endpoint, region_name=a.region,
                       aws_access_key_id="local", aws_secret_access_key="local")
    if a.table in ddb.list_tables()["TableNames"]:
        print(f"table {a.table} exists")
        return 0
    ddb.create_table(TableName=a.table, **table_definition(a.template))
    ddb.get_waiter("table_exists").wait(TableName=a.table)
    print(f"created table {a.table} at {a.endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
