//! The harness's own logic (crates/harness), where it needs no test world.

use genesis_harness::apimetrics;

#[test]
fn sums_by_verb_resource_and_subresource() {
    let text = r#"# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="nodes",scope="cluster",subresource="",verb="LIST",version="v1"} 2
apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="nodes",scope="cluster",subresource="",verb="LIST",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="nodes",scope="resource",subresource="status",verb="PATCH",version="v1"} 5
apiserver_request_total{code="200",component="",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 7
apiserver_request_duration_seconds_bucket{verb="LIST",le="0.1"} 9
"#;
    let requests = apimetrics::parse(text, "apiserver_request_total");
    assert_eq!(requests.get("LIST", "nodes", ""), 3);
    assert_eq!(requests.get("PATCH", "nodes", "status"), 5);
    assert_eq!(requests.on_resources().total(), 8);
    let mut earlier = requests.clone();
    earlier.minus("LIST", "nodes", "", 1);
    assert_eq!(requests.since(&earlier).describe(), "LIST nodes 1");
}
