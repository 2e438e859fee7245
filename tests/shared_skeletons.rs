//! The rendering threads share their YAML skeletons (`emit::shapes`): a shape one thread
//! laid out is not laid out again by another. In a test binary of its own, because the
//! counts are the whole process's.

mod common;
#[path = "../benches/support/synthetic.rs"]
mod synthetic;

#[test]
fn each_shape_is_laid_out_about_once_for_all_threads() {
    let compiled = common::generated_base(synthetic::platform(300, 11));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    berrys::render::render(&compiled).expect("renders");
    let (made, shared) = berrys::emit::shapes::skeletons_made_and_shared();
    println!("{made} skeletons made for {shared} shapes on {threads} threads");
    assert!(shared > 20, "only {shared} shapes");
    // Without sharing, each thread makes every shape it meets (about `threads` × shared,
    // on the two cores CI has); with it, only threads meeting a new shape at the same
    // moment both make it.
    assert!(
        made * 4 < shared * 5,
        "{made} skeletons made for {shared} shapes on {threads} threads"
    );
}
