//! The protocol server as a client sees it: `jupyter::serve` over a fake language, driven by a
//! fake frontend over ZeroMQ. What a notebook relies on: every request wrapped in busy and idle
//! with its parent header, outputs before the reply, interrupts, queued cells aborted after an
//! error, and forged messages ignored.

mod fake_language;
mod frontend;
mod kernel;

use frontend::Channel;
use kernel::Kernel;
use serde_json::json;

#[tokio::test]
async fn an_execution_publishes_its_input_then_its_outputs_between_busy_and_idle_before_the_reply()
{
    let mut kernel = Kernel::start();
    let mut frontend = kernel.connect().await;

    let first = frontend.execute("echo hello").await;
    let exchange = frontend.until_answered(&first).await;
    exchange.assert_published_then_replied(
        &[
            "status busy",
            "execute_input [1] echo hello",
            r#"stdout "hello\n""#,
            "execute_result [1] hello",
            "status idle",
        ],
        "execute_reply ok [1]",
    );

    // Lines printed just before a cell ends are still batched when it returns: the reply waits
    // for them.
    let second = frontend.execute("count 3").await;
    let exchange = frontend.until_answered(&second).await;
    exchange.assert_published_then_replied(
        &[
            "status busy",
            "execute_input [2] count 3",
            r#"stdout "1\n2\n3\n""#,
            "status idle",
        ],
        "execute_reply ok [2]",
    );

    kernel.shut_down(&mut frontend).await;
}

#[tokio::test]
async fn an_error_is_published_before_the_reply_that_reports_it() {
    let mut kernel = Kernel::start();
    let mut frontend = kernel.connect().await;

    let failing = frontend.execute("fail").await;
    let exchange = frontend.until_answered(&failing).await;
    exchange.assert_published_then_replied(
        &[
            "status busy",
            "execute_input [1] fail",
            "error Failure: it failed, as asked",
            "status idle",
        ],
        "execute_reply error [1] Failure",
    );

    kernel.shut_down(&mut frontend).await;
}

#[tokio::test]
async fn every_request_is_wrapped_in_busy_and_idle() {
    let mut kernel = Kernel::start();
    let mut frontend = kernel.connect().await;

    let requests = [
        (
            Channel::Shell,
            "kernel_info_request",
            json!({}),
            "kernel_info_reply ok",
        ),
        (
            Channel::Control,
            "kernel_info_request",
            json!({}),
            "kernel_info_reply ok",
        ),
        (
            Channel::Shell,
            "complete_request",
            json!({ "code": "ec", "cursor_pos": 2 }),
            "complete_reply ok",
        ),
        (
            Channel::Shell,
            "is_complete_request",
            json!({ "code": "echo" }),
            "is_complete_reply complete",
        ),
        (
            Channel::Shell,
            "history_request",
            json!({ "hist_access_type": "tail", "n": 10, "output": false, "raw": true }),
            "history_reply ok",
        ),
        (
            Channel::Shell,
            "no_such_request",
            json!({}),
            "no_such_reply error",
        ),
    ];
    for (channel, msg_type, content, reply) in requests {
        let request = frontend.request(channel, msg_type, content).await;
        let exchange = frontend.until_answered(&request).await;
        assert_eq!(
            exchange.published(),
            ["status busy", "status idle"],
            "{msg_type} on {channel:?}"
        );
        assert_eq!(exchange.reply(), reply, "{msg_type} on {channel:?}");
    }

    kernel.shut_down(&mut frontend).await;
}

#[tokio::test]
async fn an_interrupt_ends_the_running_cell_and_the_kernel_answers_the_next() {
    let mut kernel = Kernel::start();
    let mut frontend = kernel.connect().await;

    let running = frontend.execute("wait for interrupt").await;
    // The cell says it waits once it runs: an interrupt sent before would find nothing running.
    frontend.until_published(&running, "stream").await;
    let interrupt = frontend
        .request(Channel::Control, "interrupt_request", json!({}))
        .await;
    let interrupt = frontend.until_answered(&interrupt).await;
    assert_eq!(interrupt.reply(), "interrupt_reply ok");
    assert_eq!(interrupt.published(), ["status busy", "status idle"]);

    let interrupted = frontend.until_answered(&running).await;
    assert_eq!(
        interrupted.published(),
        [
            "status busy",
            "execute_input [1] wait for interrupt",
            r#"stdout "waiting for an interrupt\n""#,
            "error KeyboardInterrupt: interrupted",
            "status idle",
        ]
    );
    assert_eq!(
        interrupted.reply(),
        "execute_reply error [1] KeyboardInterrupt"
    );

    let next = frontend.execute("echo still here").await;
    assert_eq!(
        frontend.until_answered(&next).await.reply(),
        "execute_reply ok [2]"
    );

    kernel.shut_down(&mut frontend).await;
}

#[tokio::test]
async fn after_an_error_the_queued_cells_are_aborted_and_later_ones_run() {
    let mut kernel = Kernel::start();
    let mut frontend = kernel.connect().await;

    // Sent back to back, as "run all" does: the second and third wait behind the first.
    let failing = frontend.execute("fail").await;
    let queued = [
        frontend.execute("echo second").await,
        frontend.execute("echo third").await,
    ];
    assert_eq!(
        frontend.until_answered(&failing).await.reply(),
        "execute_reply error [1] Failure"
    );
    for request in &queued {
        let aborted = frontend.until_answered(request).await;
        assert_eq!(aborted.reply(), "execute_reply aborted");
        assert_eq!(
            aborted.published(),
            ["status busy", "status idle"],
            "an aborted cell publishes no input and no output"
        );
    }

    let later = frontend.execute("echo later").await;
    let exchange = frontend.until_answered(&later).await;
    assert_eq!(exchange.reply(), "execute_reply ok [2]");
    assert_eq!(
        exchange.published(),
        [
            "status busy",
            "execute_input [2] echo later",
            r#"stdout "later\n""#,
            "execute_result [2] later",
            "status idle",
        ]
    );

    kernel.shut_down(&mut frontend).await;
}

#[tokio::test]
async fn a_wrongly_signed_message_is_dropped_and_the_next_good_one_answered() {
    let mut kernel = Kernel::start();
    let mut frontend = kernel.connect().await;

    let forged_execute = frontend
        .forged_request(
            Channel::Shell,
            "execute_request",
            json!({ "code": "echo forged" }),
        )
        .await;
    let forged_shutdown = frontend
        .forged_request(Channel::Control, "shutdown_request", json!({}))
        .await;

    let control = frontend
        .request(Channel::Control, "kernel_info_request", json!({}))
        .await;
    assert_eq!(
        frontend.until_answered(&control).await.reply(),
        "kernel_info_reply ok"
    );
    let genuine = frontend.execute("echo genuine").await;
    let exchange = frontend.until_answered(&genuine).await;
    // Execution count 1: the forged cell never ran.
    assert_eq!(exchange.reply(), "execute_reply ok [1]");

    // Each channel serves its requests in order: a forged request that had been served would
    // have been answered before the genuine one that followed it.
    assert!(frontend.received_for(&forged_execute).is_empty());
    assert!(frontend.received_for(&forged_shutdown).is_empty());

    kernel.shut_down(&mut frontend).await;
}
