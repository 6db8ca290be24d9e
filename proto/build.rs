//! Compiles `tillit/**/*.proto` with protox (no system protoc) and writes the encoded file
//! descriptor set next to the generated code, for gRPC server reflection.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut files = Vec::new();
    collect_protos(&root.join("tillit"), &mut files)?;
    files.sort();
    // The whole tree, so a new .proto file (or package) triggers a rebuild too.
    println!("cargo:rerun-if-changed={}", root.join("tillit").display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).open_files(&files)?;
    // Encoded by the compiler itself, so the custom field options (`tillit.common.v1.data`,
    // which prost-types would drop as unknown fields) stay in the set the kernel reads.
    let encoded = compiler.encode_file_descriptor_set();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("tillit_descriptor.bin"), &encoded)?;
    let descriptors: prost_types::FileDescriptorSet = prost::Message::decode(encoded.as_slice())?;
    // Type names (`prost::Name`) give every event payload its fully qualified name.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
