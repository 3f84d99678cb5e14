//! Classifier throughput on non-DDL statements and full analysis of typical ALTER TABLEs.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ddlgate_ddl::{analyze, classify, AnalysisConfig, Facts};

const NON_DDL: &[&str] = &[
    "SELECT id, name FROM users WHERE id = $1",
    "/* app:web */ -- trace\n  INSERT INTO events (kind, at) VALUES ($1, now())",
    "UPDATE orders SET status = 'paid' WHERE id = $1",
    "  (SELECT 1)",
    "WITH x AS (SELECT 1) SELECT * FROM x",
];

/// The "typical single ALTER TABLE" of the performance target (issue 3: over 100 000/s).
const TYPICAL: &str = "ALTER TABLE orders ADD COLUMN status text DEFAULT 'pending'";

const ALTERS: &[&str] = &[
    "ALTER TABLE \"public\".\"orders\" ADD COLUMN \"status\" text NOT NULL DEFAULT 'pending'",
    "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()",
    "ALTER TABLE orders ALTER COLUMN status SET NOT NULL",
    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID",
];

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("classifier");
    g.throughput(Throughput::Elements(NON_DDL.len() as u64));
    g.bench_function("non_ddl", |b| {
        b.iter(|| {
            for s in NON_DDL {
                black_box(classify(black_box(s)));
            }
        });
    });
    g.finish();

    let facts = Facts::default();
    let cfg = AnalysisConfig::default();
    let mut g = c.benchmark_group("analyze");
    g.throughput(Throughput::Elements(1));
    g.bench_function("alter_table_add_column_typical", |b| {
        b.iter(|| black_box(analyze(black_box(TYPICAL), &facts, &cfg)));
    });
    g.bench_function("alter_table_add_column_constant_default", |b| {
        b.iter(|| black_box(analyze(black_box(ALTERS[0]), &facts, &cfg)));
    });
    g.throughput(Throughput::Elements(ALTERS.len() as u64));
    g.bench_function("alter_table_mix_with_plans", |b| {
        b.iter(|| {
            for s in ALTERS {
                black_box(analyze(black_box(s), &facts, &cfg));
            }
        });
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("non_ddl_through_analyze", |b| {
        b.iter(|| black_box(analyze(black_box(NON_DDL[0]), &facts, &cfg)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
