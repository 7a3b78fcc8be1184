"""The Jupyter messaging protocol, checked with the community's kernel test suite.

`jupyter_kernel_test.KernelTests` drives one kernel through kernel_info, execute (stdout,
stderr, errors, results, display data), completion, is_complete, inspect and history, validating
every message against the message specification. The samples below are cells of the playbook
language.
"""

from __future__ import annotations

import jupyter_kernel_test
import pytest
from jupyter_kernel_test.msgspec_v5 import validate_message

from kernel_client import ANSI, iopub_until_idle

TIMEOUT = 15


class PlaybookKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "playbook"
    language_name = "playbook"

    code_hello_world = "run echo 'hello, world'"
    code_stderr = "run echo 'oops' >&2"
    code_generate_error = "frobnicate the servers"

    code_execute_result = [
        {"code": "param answer = 42\nanswer", "result": "42"},
        {"code": 'param greeting = "hi"\ngreeting', "result": "hi"},
        {"code": 'param region = "eu-west-1"\nregion', "result": "eu-west-1"},
    ]
    # A glob matched against whole cell inputs (as IPython does). It must match exactly one
    # distinct input: the `unique=True` search has to return exactly one entry, and the `n=3`
    # search exactly three (the suite re-executes the samples before every history request).
    code_history_pattern = "param answer*"
    supported_history_operations = ("tail", "range", "search")

    code_display_data = [
        {"code": 'finding info "disk at 40%"', "mime": "text/markdown"},
        {"code": "findings", "mime": "text/html"},
    ]

    completion_samples = [
        {"text": "fin", "matches": {"finding", "findings"}},
    ]

    complete_code_samples = ["run ls", 'finding low "ok"']
    incomplete_code_samples = ["run ls \\"]
    # A bare name is valid syntax (it shows a binding again), so `frobnicate` alone is complete;
    # an unknown statement with arguments cannot parse.
    invalid_code_samples = ['finding bogus "x"', "frobnicate the servers"]

    code_inspect_sample = "run"

    # The language has no statement that pages text or clears output: these do not apply.
    test_pager = None
    test_clear_output = None

    # --- checks beyond jupyter_kernel_test ------------------------------------------------

    def test_kernel_info_protocol_version(self) -> None:
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        validate_message(reply, "kernel_info_reply", msg_id)
        content = reply["content"]
        self.assertEqual(content["status"], "ok")
        self.assertEqual(content["protocol_version"], "5.5")
        self.assertEqual(content["implementation"], "playbook")
        self.assertEqual(content["language_info"]["name"], "playbook")
        self.assertEqual(reply["header"]["version"], "5.5")

    def test_completion_cursor_range(self) -> None:
        """A completion on a later line replaces exactly the partial word before the cursor."""
        self.flush_channels()
        code = "run uptime\nfin"
        msg_id = self.kc.complete(code, cursor_pos=len(code))
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)
        validate_message(reply, "complete_reply", msg_id)
        content = reply["content"]
        self.assertEqual(content["status"], "ok")
        self.assertEqual(set(content["matches"]), {"finding", "findings"})
        self.assertEqual(content["cursor_start"], len("run uptime\n"))
        self.assertEqual(content["cursor_end"], len(code))

    def test_error_names_parse_error(self) -> None:
        self.flush_channels()
        reply, output_msgs = self.execute_helper(self.code_generate_error)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "ParseError")
        [err] = output_msgs
        self.assertEqual(err["content"]["ename"], "ParseError")
        self.assertTrue(err["content"]["evalue"])
        text = "\n".join(err["content"]["traceback"])
        self.assertIn("frobnicate the servers", ANSI.sub("", text))

    def test_run_summary_after_stream(self) -> None:
        """`run` streams the command's output, then shows a one-line summary."""
        self.flush_channels()
        reply, output_msgs = self.execute_helper("run echo 'hello, world'")
        self.assertEqual(reply["content"]["status"], "ok")
        kinds = [m["msg_type"] for m in output_msgs]
        self.assertIn("stream", kinds)
        self.assertEqual(kinds[-1], "display_data", kinds)
        self.assertLess(kinds.index("stream"), len(kinds) - 1)
        summary = output_msgs[-1]["content"]["data"]["text/plain"]
        self.assertNotIn("\n", summary.strip())
        self.assertIn("exit 0", summary)

    def test_nonzero_exit_is_not_an_error(self) -> None:
        self.flush_channels()
        reply, output_msgs = self.execute_helper("run exit 3")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertNotIn("error", [m["msg_type"] for m in output_msgs])
        summaries = [
            m["content"]["data"]["text/plain"]
            for m in output_msgs
            if m["msg_type"] == "display_data"
        ]
        self.assertTrue(any("exit 3" in s for s in summaries), summaries)

    def test_execution_count_increments(self) -> None:
        self.flush_channels()
        first, _ = self.execute_helper("run true")
        second, _ = self.execute_helper("run true")
        self.assertEqual(second["content"]["execution_count"], first["content"]["execution_count"] + 1)

    def test_silent_execution_publishes_no_input(self) -> None:
        """silent=True: no execute_input, no execution count increment (the messaging spec)."""
        self.flush_channels()
        before, _ = self.execute_helper("run true")
        msg_id = self.kc.execute("run true", silent=True)
        reply = self.get_non_kernel_info_reply(timeout=TIMEOUT)
        validate_message(reply, "execute_reply", msg_id)
        self.assertEqual(reply["content"]["status"], "ok")
        seen = [m["msg_type"] for m in iopub_until_idle(self.kc, msg_id, TIMEOUT)]
        self.assertNotIn("execute_input", seen)
        after, _ = self.execute_helper("run true")
        self.assertEqual(after["content"]["execution_count"], before["content"]["execution_count"] + 1)


class PlaybookIopubWelcomeTests(jupyter_kernel_test.IopubWelcomeTests):
    kernel_name = "playbook"
    support_iopub_welcome = True

    # The inherited test waits for the welcome without a timeout.
    pytestmark = pytest.mark.timeout(20)
