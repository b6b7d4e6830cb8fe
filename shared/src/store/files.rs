//! Documents as files in one directory of the local data directory: `{name}.json`,
//! replaced atomically (write, fsync, rename) under an exclusive lock on `.lock`, so the
//! CLI and a running `inlet serve` can share the directory. Every file is written 0600
//! (tenant records and token use say who the customers are); a private directory (the
//! token vault, the data directory itself) gets mode 0700.

use super::StoreError;
use super::docs::{Catalog, Doc, Documents, Expect, check_name};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

pub struct FileDocs {
    dir: PathBuf,
}

/// Creates `dir` (and its parents) if missing and makes it readable by its owner only.
pub fn private_dir(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn tag_of(body: &[u8]) -> String {
    Sha256::digest(body).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl FileDocs {
    pub fn open(dir: &Path, private: bool) -> Result<Self, StoreError> {
        if private {
            private_dir(dir)?;
        } else {
            fs::create_dir_all(dir).map_err(io)?;
        }
        Ok(Self { dir: dir.to_path_buf() })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Create-or-truncate for writing, 0600.
    fn options() -> OpenOptions {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts
    }

    fn read(&self, name: &str) -> Result<Option<Doc>, StoreError> {
        match fs::read(self.path(name)) {
            Ok(body) => Ok(Some(Doc { name: name.to_owned(), tag: tag_of(&body), body })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn write(&self, name: &str, body: &[u8], expect: &Expect) -> Result<(), StoreError> {
        let lock = Self::options().open(self.dir.join(".lock")).map_err(io)?;
        lock.lock().map_err(io)?;
        let current = self.read(name)?;
        let holds = match expect {
            Expect::Absent => current.is_none(),
            Expect::Tag(tag) => current.is_some_and(|d| &d.tag == tag),
            Expect::Any => true,
        };
        if !holds {
            return Err(StoreError::ConditionFailed { index: 0 });
        }
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut file = Self::options().open(&tmp).map_err(io)?;
        file.write_all(body).and_then(|()| file.sync_all()).map_err(io)?;
        fs::rename(&tmp, self.path(name)).map_err(io)?;
        // The rename is durable once the directory is synced.
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)
    }
}

#[async_trait]
impl Documents for FileDocs {
    async fn get(&self, name: &str) -> Result<Option<Doc>, StoreError> {
        check_name(name)?;
        self.read(name)
    }

    async fn put(&self, name: &str, body: &[u8], expect: Expect) -> Result<(), StoreError> {
        check_name(name)?;
        // Small files, rare writes: blocking here costs less than a thread hop.
        tokio::task::block_in_place(|| self.write(name, body, &expect))
    }
}

#[async_trait]
impl Catalog for FileDocs {
    async fn list(&self) -> Result<Vec<Doc>, StoreError> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|f| f.strip_suffix(".json").map(str::to_owned))
            .filter(|n| check_name(n).is_ok())
            .collect();
        names.sort();
        let mut docs = Vec::with_capacity(names.len());
        for name in names {
            // A document deleted between listing and reading is simply not listed.
            docs.extend(self.read(&name)?);
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn file_documents_pass_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let docs = FileDocs::open(&dir.path().join("vault"), true).unwrap();
        super::super::docs_contract::run_all(&docs).await;
        super::super::docs_contract::run_listing(&docs).await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            docs.put("private", b"{}", Expect::Any).await.unwrap();
            let mode = fs::metadata(dir.path().join("vault/private.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(dir.path().join("vault")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread")]
    async fn every_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let docs = FileDocs::open(&dir.path().join("tenants"), false).unwrap();
        docs.put("acme", b"{}", Expect::Absent).await.unwrap();
        docs.put("acme", b"{\"a\":1}", Expect::Any).await.unwrap();
        for name in ["acme.json", ".lock"] {
            let mode = fs::metadata(dir.path().join("tenants").join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        private_dir(&dir.path().join("data")).unwrap();
        let mode = fs::metadata(dir.path().join("data")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
