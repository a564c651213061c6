//! A skill that allocates without bound: the memory cap must stop it.

use joule_sdk::prelude::*;

struct Hog;

impl Skill for Hog {
    fn describe() -> Descriptor {
        Describe::new("hog", "0.1.0", "Allocates until stopped.").build()
    }

    fn run(_: &Invocation) -> Result<Vec<Finding>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; 16 << 20];
            chunk[0] = 1;
            hoard.push(std::hint::black_box(chunk));
        }
    }
}

export_skill!(Hog);
