"""A project with several functions: every command knows them all, and each finds its own files.

The project (`lambda_project.write_two_functions`) is the layout `slsgen add` makes: HelloFunction (HTTP) in
src/ with events/ and tests/, OrdersWorkerFunction (SQS) in functions/orders-worker/src/ with its events/ and
tests/ beside (functions/orders-worker/). Both have a `lambda_function.py` and a `helpers.py` of their own, so that
a module of one function that stood in for the other's would show in the answers.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from test_api import request, running

from lambda_runner.config.template import read_functions, select_function
from lambda_runner.errors import RunnerError
from lambda_runner.local.api import LocalApi, serve

from lambda_project import response, runner, write_two_functions

pytest_plugins = ["pytester"]
NAMES = "HelloFunction, OrdersWorkerFunction"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_two_functions(tmp_path / "shop")


def body_of(result: object) -> dict:
    assert isinstance(result, dict)
    return json.loads(result["body"])


# ----------------------------------------------------------------------------------------- naming a function


@pytest.mark.parametrize(
    "reference", ["OrdersWorkerFunction", "OrdersWorker", "ordersworkerfunction", "ORDERSWORKER", "orders-worker"]
)
def test_a_function_is_named_by_its_logical_id_in_any_case_with_or_without_suffix_or_by_its_folder(
    project: Path, reference: str
) -> None:
    functions = read_functions(project / "template.yaml")
    assert select_function(functions, reference).logical_id == "OrdersWorkerFunction"
    assert select_function(functions, "hello").logical_id == "HelloFunction"


def test_a_missing_unknown_or_ambiguous_reference_is_one_line_naming_the_functions(project: Path) -> None:
    functions = read_functions(project / "template.yaml")
    with pytest.raises(RunnerError, match=rf"^template\.yaml has several functions; name one of: {NAMES}$"):
        select_function(functions, None)
    with pytest.raises(RunnerError, match=rf"^no function 'Orders' in template\.yaml; choose one of: {NAMES}$"):
        select_function(functions, "Orders")
    template = project / "template.yaml"
    template.write_text(
        template.read_text().replace(
            "  OrdersQueue:", "  HELLOFUNCTION:\n    Type: AWS::Serverless::Function\n  OrdersQueue:"
        )
    )
    functions = read_functions(template)
    assert select_function(functions, "HELLOFUNCTION").logical_id == "HELLOFUNCTION"  # the exact logical id first
    assert select_function(functions, "HelloFunction").logical_id == "HelloFunction"
    for reference in ("hellofunction", "Hello"):
        with pytest.raises(RunnerError, match=rf"^'{reference}' could name any of HelloFunction, HELLOFUNCTION: give"):
            select_function(functions, reference)


def test_each_function_knows_its_folders(project: Path) -> None:
    hello, worker = read_functions(project / "template.yaml").values()
    assert (hello.folder, hello.events_dir, hello.tests_dir) == ("", project / "events", project / "tests")
    assert worker.folder == "orders-worker"
    assert (worker.events_dir, worker.tests_dir) == (
        project / "functions/orders-worker/events",
        project / "functions/orders-worker/tests",
    )
    assert worker.code_dir == (project / "functions/orders-worker/src").resolve()
    assert [path.name for path in hello.sample_events()] == ["hello.json"]  # not the worker's, one folder down
    assert [path.name for path in worker.sample_events()] == ["orders.json"]


# ------------------------------------------------------------------------------------------------------ invoke


def test_invoke_needs_a_function_and_lists_them(project: Path) -> None:
    result = runner(project, "invoke")
    assert (result.returncode, result.stderr) == (
        2,
        f"error: template.yaml has several functions; name one of: {NAMES}\n",
    )
    result = runner(project, "invoke", "Nope")
    assert (result.returncode, result.stderr) == (
        2,
        f"error: no function 'Nope' in template.yaml; choose one of: {NAMES}\n",
    )


def test_invoke_of_a_named_function_runs_its_code_on_its_first_sample_event(project: Path) -> None:
    result = runner(project, "invoke", "OrdersWorker")
    assert result.returncode == 0, result.stderr
    assert (
        "note: no event given: using functions/orders-worker/events/orders.json, the first sample event"
        in result.stderr
    )
    event = json.loads((project / "functions/orders-worker/events/orders.json").read_text())
    assert response(result) == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}

    result = runner(project, "invoke", "hello")
    assert result.returncode == 0, result.stderr
    assert "using events/hello.json" in result.stderr
    assert body_of(response(result)) == {"function": "hello", "helpers": "hello", "greeting": "Hello"}


def test_an_event_in_a_functions_events_folder_picks_that_function(project: Path) -> None:
    result = runner(project, "invoke", "-e", "functions/orders-worker/events/orders.json")
    assert result.returncode == 0, result.stderr
    assert (
        "note: invoking OrdersWorkerFunction, the function whose sample events are in functions/orders-worker/events/\n"
        in (result.stderr)
    )
    assert "batchItemFailures" in response(result)  # type: ignore[operator]
    result = runner(project, "invoke", "-e", "events/hello.json")
    assert result.returncode == 0, result.stderr
    assert "note: invoking HelloFunction" in result.stderr
    (project / "elsewhere.json").write_text("{}")
    assert runner(project, "invoke", "-e", "elsewhere.json").returncode == 2  # in no function's folder: name one


def test_functions_lists_each_functions_sample_events_for_make_invoke(project: Path) -> None:
    result = runner(project, "functions", "--events")
    assert (result.returncode, result.stdout) == (0, "events/hello.json\nfunctions/orders-worker/events/orders.json\n")
    assert (
        runner(project, "functions", "--events", "orders-worker").stdout
        == "functions/orders-worker/events/orders.json\n"
    )
    (project / "functions/orders-worker/events/orders.json").unlink()
    result = runner(project, "functions", "--events", "OrdersWorker")
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "note: OrdersWorkerFunction has no sample events (functions/orders-worker/events/*.json)\n"
    result = runner(project, "functions", "--events", "Nope")
    assert (result.returncode, result.stderr) == (
        2,
        f"error: no function 'Nope' in template.yaml; choose one of: {NAMES}\n",
    )


def test_local_aws_holds_every_resource_of_the_stack_for_whichever_function_runs(project: Path) -> None:
    (project / "aws.json").write_text('{"aws": true}')
    result = runner(project, "invoke", "orders-worker", "--local-aws", "-e", "aws.json", timeout=120)
    assert result.returncode == 0, result.stderr
    body = body_of(response(result))
    assert body["buckets"] == ["shop-uploadsbucket"]  # HelloFunction's bucket, there for the worker too
    assert [url.rsplit("/", 1)[1] for url in body["queues"]] == ["shop-OrdersQueue"]


def test_send_polls_the_named_functions_queue(project: Path) -> None:
    (project / "messages.jsonl").write_text("one\nfail\nthree\n")
    result = runner(project, "invoke", "OrdersWorker", "--local-aws", "--send", "messages.jsonl", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[local-aws] sent 3 messages to shop-OrdersQueue; polling it in batches of 2" in result.stderr
    assert "[local-aws] batch of 2: 1 deleted, 1 left in the queue" in result.stderr


# --------------------------------------------------------------------------------------- the pytest plugin

HELLO_TESTS = """\
import sys

import lambda_function  # imported at collection, through pytest's pythonpath (src/)


def test_hello(handler, load_event, lambda_context, function_config, function_environment):
    assert function_config.logical_id == "HelloFunction"
    assert handler.__module__ == "lambda_function" and sys.modules["lambda_function"] is lambda_function
    assert "ORDERS_QUEUE" not in function_environment
    assert lambda_context.function_name == "proj-HelloFunction"
    assert json_body(handler(load_event("hello.json"), lambda_context)) == {
        "function": "hello", "helpers": "hello", "greeting": "Hello"
    }


def test_the_workers_invoke_in_process_runs_the_workers_modules(handler, function_config):
    from lambda_runner import invoke

    result = invoke({}, project=function_config.project_dir, function="orders-worker")
    assert result.ok, result.error
    assert json_body(result.response)["helpers"] == "orders-worker"
    assert sys.modules[handler.__module__] is lambda_function  # and the hello function's modules are back


def json_body(result):
    import json

    return json.loads(result["body"])
"""
WORKER_TESTS = """\
import sys


def test_worker(handler, load_event, lambda_context, function_config, function_environment):
    assert function_config.logical_id == "OrdersWorkerFunction"
    assert function_environment["ORDERS_QUEUE"] == "proj-OrdersQueue" and "GREETING" not in function_environment
    assert lambda_context.function_name == "proj-OrdersWorkerFunction"
    event = load_event("orders.json")  # functions/orders-worker/events/orders.json
    failed = event["Records"][1]["messageId"]
    assert handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": failed}]}
    module = sys.modules[handler.__module__]
    assert module.__file__.endswith("functions/orders-worker/src/lambda_function.py")
    assert sys.modules["helpers"].WHO == "orders-worker"


def test_the_worker_answers_with_its_own_helpers(handler, lambda_context):
    assert '"helpers": "orders-worker"' in handler({}, lambda_context)["body"]
"""


def test_each_test_folder_gets_its_functions_fixtures_and_modules(pytester: pytest.Pytester, project: Path) -> None:
    """Test files of the same name in tests/a_first/ and functions/orders-worker/tests/ (importlib mode), no conftest
    per folder; the worker's tests run between the hello function's, so each function's modules come and go."""
    root = pytester.path / "proj"
    _copy(project, root)
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests", "functions"]\npythonpath = ["src", "."]\n'
        'addopts = "--import-mode=importlib"\n'
    )
    for folder in (
        "tests/a_first",
        "functions/orders-worker/tests",
    ):  # a_first/: the hello function's (not a function's)
        (root / folder).mkdir(parents=True)
    (root / "tests/a_first/test_lambda_function.py").write_text(HELLO_TESTS)
    (root / "functions/orders-worker/tests/test_lambda_function.py").write_text(WORKER_TESTS)
    (root / "tests/test_zz_again.py").write_text(HELLO_TESTS.replace("def test_the_workers", "def _not_again"))
    options = ["-p", "no:xdist", "-p", "no:cacheprovider", "-c", "proj/pyproject.toml", "--rootdir", "proj"]
    result = pytester.runpytest_subprocess(*options, "proj/tests", "proj/functions", "-v")
    result.assert_outcomes(passed=5)
    assert re.search(r"functions/orders-worker/tests/test_lambda_function\.py::test_worker PASSED", result.stdout.str())


def _copy(project: Path, root: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(project)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())


@pytest.mark.parametrize(
    ("hello_code", "worker_code", "message"),
    [
        ("src/", "src/", "*tests/test_x.py is in the tests folder of several functions (HelloFunction, Orders*"),
        (
            "functions/hello/src/",
            "functions/orders-worker/src/",
            "*tests/test_x.py is in no function's tests folder (functions/hello/tests/, functions/orders-worker/t*",
        ),
    ],
)
def test_a_test_in_no_single_functions_folder_is_told_where_to_go(
    pytester: pytest.Pytester, project: Path, hello_code: str, worker_code: str, message: str
) -> None:
    root = pytester.path / "proj"
    _copy(project, root)
    template = root / "template.yaml"
    text = template.read_text().replace("    CodeUri: src/\n", f"    CodeUri: {hello_code}\n", 1)
    template.write_text(text.replace("CodeUri: functions/orders-worker/src/", f"CodeUri: {worker_code}"))
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    (root / "tests").mkdir()
    (root / "tests/test_x.py").write_text("def test_x(function_config):\n    pass\n")
    (root / "tests/test_shared.py").write_text(
        "import os\n\ndef test_shared():\n    assert '_HANDLER' not in os.environ\n"
    )
    options = ["-p", "no:xdist", "-p", "no:cacheprovider", "-c", "proj/pyproject.toml", "--rootdir", "proj"]
    result = pytester.runpytest_subprocess(*options, "proj/tests")
    result.assert_outcomes(errors=1, passed=1)  # a test that needs no function runs without Lambda's environment
    result.stdout.fnmatch_lines([message])


# ----------------------------------------------------------------------------------------------------- package


def test_package_builds_one_zip_per_function_and_a_template_pointing_each_at_its_own(project: Path) -> None:
    result = runner(project, "package")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^dist/shop-HelloFunction\.zip: 2 files, ", result.stderr, re.M)
    assert re.search(r"^dist/shop-OrdersWorkerFunction\.zip: 2 files, ", result.stderr, re.M)
    zips = {}
    for name in ("HelloFunction", "OrdersWorkerFunction"):
        with zipfile.ZipFile(project / "dist" / f"shop-{name}.zip") as archive:
            zips[name] = {info: archive.read(info).decode() for info in archive.namelist()}
    assert zips["HelloFunction"]["helpers.py"] == 'WHO = "hello"\n'
    assert zips["OrdersWorkerFunction"]["helpers.py"] == 'WHO = "orders-worker"\n'
    assert sorted(zips["OrdersWorkerFunction"]) == ["helpers.py", "lambda_function.py"]
    deployed = yaml.safe_load((project / "dist/template.yaml").read_text())["Resources"]
    assert deployed["HelloFunction"]["Properties"]["CodeUri"] == "shop-HelloFunction.zip"
    assert deployed["OrdersWorkerFunction"]["Properties"]["CodeUri"] == "shop-OrdersWorkerFunction.zip"
    first = {path.name: path.read_bytes() for path in (project / "dist").iterdir()}
    assert runner(project, "package").returncode == 0
    assert {path.name: path.read_bytes() for path in (project / "dist").iterdir()} == first  # reproducible

    result = runner(project, "package", "hello")  # one function: its zip, and the template
    assert result.returncode == 0, result.stderr
    assert "OrdersWorkerFunction" not in result.stderr


def _wheel(folder: Path, name: str) -> None:
    """A pure-Python wheel of `name` 1.0, for an offline index."""
    folder.mkdir(exist_ok=True)
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr(f"{name}/__init__.py", f'NAME = "{name}"\n')
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(
            f"{info}/RECORD", f"{name}/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"
        )


def test_each_zip_holds_its_own_functions_requirements(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index"
    _wheel(index, "hellodep")
    _wheel(index, "workerdep")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    (project / "src/requirements.txt").write_text("hellodep==1.0\n")
    (project / "functions/orders-worker/src/requirements.txt").write_text("workerdep==1.0\n")
    result = runner(project, "package", timeout=300)
    assert result.returncode == 0, result.stderr
    for name, dependency, other in (
        ("HelloFunction", "hellodep", "workerdep"),
        ("OrdersWorkerFunction", "workerdep", "hellodep"),
    ):
        with zipfile.ZipFile(project / "dist" / f"shop-{name}.zip") as archive:
            names = archive.namelist()
        assert f"{dependency}/__init__.py" in names
        assert not any(entry.startswith(other) for entry in names)

    (project / "functions/orders-worker/src/requirements.txt").write_text("missingdep==1.0\n")
    result = runner(project, "package", timeout=300)
    assert result.returncode == 2
    assert "error: no binary wheel of missingdep==1.0 for " in result.stderr


# ---------------------------------------------------------------------------------------------------- validate


def test_validate_checks_every_function_and_each_folders_events_against_its_own_trigger(project: Path) -> None:
    template = project / "template.yaml"
    template.write_text(re.sub(r"Runtime: python3\.\d+", "Runtime: python3.13", template.read_text()))  # supported
    result = runner(project, "validate", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "validate: OK (template.yaml: 2 functions, 2 event files, 0 CI files)"

    (project / "functions/orders-worker/events/http.json").write_text((project / "events/hello.json").read_text())
    (project / "events/sqs.json").write_text((project / "functions/orders-worker/events/orders.json").read_text())
    text = template.read_text().replace("Runtime: python3.13", "Runtime: python3.9")  # in Globals: both functions'
    template.write_text(
        text.replace(
            "CodeUri: functions/orders-worker/src/\n",
            "CodeUri: functions/orders-worker/src/\n      Handler: lambda_function.missing\n",
        )
    )
    result = runner(project, "validate", timeout=300)
    assert result.returncode == 1
    problems = result.stdout.splitlines()
    assert problems[:3] == [
        "events/sqs.json: not an event of the function's trigger (as HttpApi: no version)",
        "functions/orders-worker/events/http.json: not an event of the function's trigger "
        "(as SQS: no Records list of records)",
        "functions/orders-worker/src/lambda_function.py: no function missing at the top level of lambda_function "
        "(Handler 'lambda_function.missing')",
    ]
    deprecated = [line for line in problems if line.startswith("template.yaml:7: Runtime python3.9 was deprecated")]
    assert len(deprecated) == 1  # a problem of Globals is each function's, said once


# --------------------------------------------------------------------------------------------------- start-api

WORKER_ROUTE = """\
Status:
  Type: HttpApi
  Properties: {Path: /orders/status, Method: GET}
"""


def get(api: LocalApi, path: str) -> tuple[int, dict]:
    status, _, data = request(api, "GET", path)
    return status, json.loads(data) if data else {}


def test_start_api_serves_every_functions_routes_each_from_its_own_environments(tmp_path: Path) -> None:
    project = write_two_functions(tmp_path / "shop", worker_events=WORKER_ROUTE)
    with running(project / "template.yaml", every=True) as (api, log):
        assert get(api, "/hello") == (200, {"function": "hello", "helpers": "hello", "greeting": "Hello"})
        status, body = get(api, "/orders/status")
        assert (status, body["function"], body["helpers"]) == (200, "orders-worker", "orders-worker")
        assert get(api, "/nowhere")[0] == 404
        text = log.getvalue()
    assert f"{NAMES} are served at {api.url}\n" in text
    assert "  GET     /hello  (HTTP API, payload 2.0)  -> HelloFunction\n" in text
    assert "  GET     /orders/status  (HTTP API, payload 2.0)  -> OrdersWorkerFunction\n" in text
    assert "Up to 4 requests at once for each function, each in a warm environment" in text


def test_start_api_serves_only_the_functions_with_http_events(project: Path) -> None:
    with running(project / "template.yaml", every=True) as (api, log):
        assert get(api, "/hello")[0] == 200
    assert f"HelloFunction is served at {api.url}\n" in log.getvalue()  # the worker has only its queue


def test_each_function_has_its_own_pool_of_max_concurrency_environments(tmp_path: Path) -> None:
    """With one environment each, a slow request to one function does not hold up the other's."""
    project = write_two_functions(tmp_path / "shop", worker_events=WORKER_ROUTE)
    handler = project / "src/lambda_function.py"
    handler.write_text("import time\n" + handler.read_text().replace("    body =", "    time.sleep(2)\n    body =", 1))
    with running(project / "template.yaml", 1, every=True) as (api, log):
        get(api, "/orders/status")  # warm
        slow = threading.Thread(target=get, args=(api, "/hello"))
        slow.start()
        time.sleep(0.3)
        started = time.perf_counter()
        assert get(api, "/orders/status")[0] == 200
        assert time.perf_counter() - started < 1.5
        slow.join(20)
    assert "Up to 1 requests at once for each function" in log.getvalue()


def test_a_route_two_functions_declare_goes_to_the_first_and_says_so(tmp_path: Path) -> None:
    project = write_two_functions(tmp_path / "shop", worker_events=WORKER_ROUTE.replace("/orders/status", "/hello"))
    with running(project / "template.yaml", every=True) as (api, log):
        assert get(api, "/hello")[1]["function"] == "hello"
    assert (
        "  note: OrdersWorkerFunction's GET /hello is not served: HelloFunction has it too (start-api "
        "OrdersWorkerFunction serves it)\n"
    ) in log.getvalue()


def test_start_api_of_one_named_function_and_of_none_with_http_events(tmp_path: Path) -> None:
    project = write_two_functions(tmp_path / "shop", worker_events=WORKER_ROUTE)
    result = runner(project, "start-api", "Nope")
    assert (result.returncode, result.stderr) == (
        2,
        f"error: no function 'Nope' in template.yaml; choose one of: {NAMES}\n",
    )
    template = project / "template.yaml"
    template.write_text(template.read_text().replace("Type: HttpApi", "Type: Schedule"))
    functions = list(read_functions(template).values())
    with pytest.raises(RunnerError, match=r"^no function has an Api or HttpApi event or a FunctionUrlConfig: "):
        serve(functions, port=0, log=io.StringIO())
