//! Browser tests, run in headless Chromium and Firefox by `wasm-pack test --headless --chrome` and
//! `--firefox`, and in WebKit by scripts/wasm-test-webdriver.mjs (see scripts/test.sh).
//!
//! Each test drives the public JS API the way an app does: the scenarios in tests/js/scenarios.js
//! receive `{ open, deleteDatabase }` (the package's own exports) and throw on any failed check.
//! The sync scenarios also get `servers`: the reference servers scripts/with-servers.sh starts,
//! whose URLs are read when these tests are compiled (FERRYSYNC_TEST_SERVER,
//! FERRYSYNC_FLAKY_SERVER).
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The package's exports as a JS object, as `import * as ferrysync from "ferrysync"` gives them.
fn api() -> JsValue {
    let o = Object::new();
    let open = Closure::<dyn Fn(JsValue) -> Promise>::new(ferrysync::web::open).into_js_value();
    let delete = Closure::<dyn Fn(String, Option<String>, JsValue) -> Promise>::new(ferrysync::web::delete_database)
        .into_js_value();
    Reflect::set(&o, &"open".into(), &open).unwrap();
    Reflect::set(&o, &"deleteDatabase".into(), &delete).unwrap();
    let servers = Object::new();
    for (name, url) in
        [("main", option_env!("FERRYSYNC_TEST_SERVER")), ("flaky", option_env!("FERRYSYNC_FLAKY_SERVER"))]
    {
        Reflect::set(&servers, &name.into(), &url.map(JsValue::from_str).unwrap_or(JsValue::NULL)).unwrap();
    }
    Reflect::set(&o, &"servers".into(), &servers).unwrap();
    o.into()
}

async fn run(scenario: Promise) {
    if let Err(e) = JsFuture::from(scenario).await {
        let text = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| format!("{}: {}", String::from(e.name()), String::from(e.message())))
            .unwrap_or_else(|| format!("{e:?}"));
        panic!("{text}");
    }
}

/// Binds each scenario of tests/js/scenarios.js and makes it a browser test.
macro_rules! scenarios {
    ($($name:ident => $js:literal),* $(,)?) => {
        #[wasm_bindgen(module = "/tests/js/scenarios.js")]
        extern "C" {
            $(#[wasm_bindgen(js_name = $js)] fn $name(api: JsValue) -> Promise;)*
            #[wasm_bindgen(js_name = uniqueApp)]
            fn unique_app(prefix: &str) -> String;
        }

        mod scenarios {
            use super::*;
            $(#[wasm_bindgen_test]
            async fn $name() {
                run(super::$name(api())).await;
            })*
        }
    };
}

scenarios!(
    crud_round_trip => "crudRoundTrip",
    bulk_put_ten_thousand => "bulkPutTenThousand",
    queries_by_index_and_range => "queriesByIndexAndRange",
    aborted_transaction_leaves_neither => "abortedTransactionLeavesNeither",
    coalescing_as_stored => "coalescingAsStored",
    bad_input_changes_nothing => "badInputChangesNothing",
    errors_carry_dom_exception => "errorsCarryDomException",
    upgrade_keeps_records_and_queue => "upgradeKeepsRecordsAndQueue",
    migration_runs_exactly_once => "migrationRunsExactlyOnce",
    tenants_never_meet => "tenantsNeverMeet",
    newer_tab_closes_older_connection => "newerTabClosesOlderConnection",
    blocked_upgrade_is_reported => "blockedUpgradeIsReported",
    subscriptions_fire_after_commit => "subscriptionsFireAfterCommit",
    status_store_keeps_identity => "statusStoreKeepsIdentity",
    live_query_follows_writes => "liveQueryFollowsWrites",
    live_queries_match_fresh_queries_over_random_writes => "liveQueriesMatchFreshQueriesOverRandomWrites",
    schema_mistakes_are_reported => "schemaMistakesAreReported",
    migrations_run_once_across_concurrent_opens => "migrationsRunOnceAcrossConcurrentOpens",
    offline_creates_reach_the_server_when_online => "offlineCreatesReachTheServerWhenOnline",
    two_clients_converge => "twoClientsConverge",
    same_record_edited_twice_is_a_conflict => "sameRecordEditedTwiceIsAConflict",
    conflict_strategies_settle_and_are_logged => "conflictStrategiesSettleAndAreLogged",
    force_sync_both_ways => "forceSyncBothWays",
    wipes_look_at_the_outbox_first => "wipesLookAtTheOutboxFirst",
    custom_resolver_settles_or_leaves_it_logged => "customResolverSettlesOrLeavesItLogged",
    last_write_wins_whatever_the_sync_order => "lastWriteWinsWhateverTheSyncOrder",
    closed_tab_mid_sync_resumes_without_loss_or_duplicates => "closedTabMidSyncResumesWithoutLossOrDuplicates",
    flaky_server_still_converges => "flakyServerStillConverges",
    ten_thousand_queued_sync_in_batches => "tenThousandQueuedSyncInBatches",
    tenants_never_see_each_others_data => "tenantsNeverSeeEachOthersData",
    rejected_changes_are_kept_as_dead_letters => "rejectedChangesAreKeptAsDeadLetters",
    a_write_during_the_push_stays_queued => "aWriteDuringThePushStaysQueued",
    one_tab_syncs_at_a_time_and_tabs_see_each_other => "oneTabSyncsAtATimeAndTabsSeeEachOther",
    sync_starts_shortly_after_a_write => "syncStartsShortlyAfterAWrite",
    sync_options_are_checked => "syncOptionsAreChecked",
    nothing_wedges_the_queue => "nothingWedgesTheQueue",
    unique_clash_under_a_strategy_waits => "uniqueClashUnderAStrategyWaits",
    metrics_count_what_syncs_did => "metricsCountWhatSyncsDid",
    export_pending_gives_every_queued_change => "exportPendingGivesEveryQueuedChange",
    storage_usage_quota_and_persistence => "storageUsageQuotaAndPersistence",
    damaged_outbox_rows_are_quarantined => "damagedOutboxRowsAreQuarantined",
    deletes_sync_and_conflict_with_edits => "deletesSyncAndConflictWithEdits",
    token_function_is_asked_for_every_request => "tokenFunctionIsAskedForEveryRequest",
    scattered_ids_sync_like_neighbouring_ones => "scatteredIdsSyncLikeNeighbouringOnes",
);

/// The scenarios of files in records (in tests/js/scenarios.js: every JS module is one more
/// request to the test runner's server, which stalls when the page asks for more than six).
mod blobs {
    use super::*;

    #[wasm_bindgen(module = "/tests/js/scenarios.js")]
    extern "C" {
        #[wasm_bindgen(js_name = filesGoUpBeforeTheirRecords)]
        fn files_go_up(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = filesComeDownAndMakeRoom)]
        fn files_come_down(api: JsValue) -> Promise;
    }

    #[wasm_bindgen_test]
    async fn files_go_up_before_their_records() {
        run(files_go_up(api())).await;
    }

    #[wasm_bindgen_test]
    async fn files_come_down_and_make_room() {
        run(files_come_down(api())).await;
    }
}

/// The scenarios of sync per space (tests/js/spaces.js).
mod spaces {
    use super::*;

    #[wasm_bindgen(module = "/tests/js/spaces.js")]
    extern "C" {
        #[wasm_bindgen(js_name = spacesAreChosenWaitedForAndRemoved)]
        fn chosen_waited_for_and_removed(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = aReloadMidFirstPullOfASpaceResumesFromItsCursor)]
        fn reload_mid_first_pull(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = aRecordMovedBetweenSpacesLeavesOneAndReachesTheOther)]
        fn record_moved_between_spaces(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = aForcePullOfASpaceReplacesOnlyThatSpace)]
        fn force_pull_of_a_space(api: JsValue) -> Promise;
    }

    #[wasm_bindgen_test]
    async fn spaces_are_chosen_waited_for_and_removed() {
        run(chosen_waited_for_and_removed(api())).await;
    }

    #[wasm_bindgen_test]
    async fn a_reload_mid_first_pull_of_a_space_resumes_from_its_cursor() {
        run(reload_mid_first_pull(api())).await;
    }

    #[wasm_bindgen_test]
    async fn a_record_moved_between_spaces_leaves_one_and_reaches_the_other() {
        run(record_moved_between_spaces(api())).await;
    }

    #[wasm_bindgen_test]
    async fn a_force_pull_of_a_space_replaces_only_that_space() {
        run(force_pull_of_a_space(api())).await;
    }
}

/// What happens to a device's data outside ferrysync (tests/js/device.js).
mod device {
    use super::*;

    #[wasm_bindgen(module = "/tests/js/device.js")]
    extern "C" {
        #[wasm_bindgen(js_name = aDatabaseClearedOutsideIsReportedOnceAndPulledAfresh)]
        fn cleared_outside(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = aDamagedRecordIsSetAsideAndReplacedByTheServers)]
        fn damaged_record(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = damagedSyncStateIsSetAsideAtOpen)]
        fn damaged_sync_state(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = aDamagedSpaceIsPulledAgainAndTheOthersKept)]
        fn damaged_space(api: JsValue) -> Promise;
        #[wasm_bindgen(js_name = anIntegrityCheckRepairsDamagedRecordsAndKeepsUnsentWork)]
        fn integrity_check(api: JsValue) -> Promise;
    }

    #[wasm_bindgen_test]
    async fn a_database_cleared_outside_is_reported_once_and_pulled_afresh() {
        run(cleared_outside(api())).await;
    }

    #[wasm_bindgen_test]
    async fn a_damaged_record_is_set_aside_and_replaced_by_the_servers() {
        run(damaged_record(api())).await;
    }

    #[wasm_bindgen_test]
    async fn damaged_sync_state_is_set_aside_at_open() {
        run(damaged_sync_state(api())).await;
    }

    #[wasm_bindgen_test]
    async fn a_damaged_space_is_pulled_again_and_the_others_kept() {
        run(damaged_space(api())).await;
    }

    #[wasm_bindgen_test]
    async fn an_integrity_check_repairs_damaged_records_and_keeps_unsent_work() {
        run(integrity_check(api())).await;
    }
}

#[wasm_bindgen_test]
fn every_test_database_has_its_own_name() {
    assert_ne!(unique_app("x"), unique_app("x"));
}
