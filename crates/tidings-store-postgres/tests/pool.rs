//! The pool a server's blocking threads take stores from: bounded in
//! connections and in waiting, and a broken connection is replaced.

use std::time::Duration;
use tidings::ErrorKind;
use tidings::store::Directory;
use tidings_store_postgres::testing::TestDatabase;
use tidings_store_postgres::{CHECK_AFTER_IDLE, PostgresPool};

#[test]
fn the_pool_bounds_connections_and_waiting() {
    let db = TestDatabase::create_empty().expect("PostgreSQL");
    let pool = PostgresPool::connect(&db.url(), 2, Duration::from_millis(300)).expect("pool");
    let mut first = pool.get().expect("first");
    let second = pool.get().expect("second");
    assert_eq!(
        pool.get().map(drop).map_err(|e| e.kind()),
        Err(ErrorKind::StorageLimit),
        "a third waits, boundedly, and is refused"
    );
    let ada = first
        .add_principal("Ada", "ada@town.example")
        .expect("the pool migrated the empty database");
    drop(first);
    let third = pool.get().expect("a connection came back");
    assert_eq!(third.principal(ada).map(|p| p.name), Ok("Ada".to_string()));
    drop((second, third));
}

/// Ends every store connection, as a restart or a failover does, and
/// waits until their backends are gone.
fn end_store_connections(db: &TestDatabase) {
    let mut admin = db.client().expect("client");
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = 'tidings' AND datname = current_database()",
            &[],
        )
        .expect("terminate")
        .get(0);
    assert_eq!(killed, 1);
    let started = std::time::Instant::now();
    loop {
        let left: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = 'tidings' AND datname = current_database()",
                &[],
            )
            .expect("count")
            .get(0);
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "backend lingers"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_connection_ended_moments_after_use_is_replaced_at_its_first_statement() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let pool = PostgresPool::connect(&db.url(), 1, Duration::from_secs(5)).expect("pool");
    pool.get()
        .expect("store")
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let used = std::time::Instant::now();
    end_store_connections(&db);
    // Within the window: handed out without a check, and still it works.
    let store = pool.get().expect("store");
    assert!(
        store
            .principal_by_email("ada@town.example")
            .expect("the first statement, made again on a new connection")
            .is_some()
    );
    assert!(used.elapsed() < CHECK_AFTER_IDLE, "the test was too slow");
    assert!(!store.is_closed());
}

#[test]
fn a_broken_connection_is_replaced() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let pool = PostgresPool::connect(&db.url(), 1, Duration::from_secs(5)).expect("pool");
    pool.get()
        .expect("store")
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    end_store_connections(&db);
    // Past the window in which a connection just returned is handed out
    // unchecked: the check finds it closed and the pool connects anew.
    std::thread::sleep(CHECK_AFTER_IDLE + Duration::from_millis(100));
    let store = pool.get().expect("a fresh connection");
    assert!(!store.is_closed());
    assert!(
        store
            .principal_by_email("ada@town.example")
            .expect("query")
            .is_some()
    );
}

#[test]
fn stores_work_from_tokio_blocking_threads() {
    // The server's pattern: async tasks hand store work to spawn_blocking.
    // (The client blocks on its own runtime, so calling it directly inside
    // an async task is not allowed; on a blocking thread it is.)
    let db = TestDatabase::create().expect("PostgreSQL");
    let pool = PostgresPool::connect(&db.url(), 4, Duration::from_secs(5)).expect("pool");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let added = runtime.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || {
                    pool.get()?
                        .add_principal("P", &format!("p{n}@town.example"))
                })
            })
            .collect();
        let mut added = Vec::new();
        for task in tasks {
            added.push(task.await.expect("task").expect("principal"));
        }
        added
    });
    assert_eq!(added.len(), 8);
    assert_eq!(
        pool.get().expect("store").principals().map(|p| p.len()),
        Ok(8)
    );
}
