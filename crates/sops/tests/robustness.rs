//! Arbitrary input never panics: the ENC parser, key paths, every store parser and the whole
//! decrypt pipeline return errors instead.

use proptest::prelude::*;
use sops::{DecryptOptions, EncryptedFile, Format, Identities};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn enc_parser_never_panics(s in ".*") {
        let _ = sops::cipher::parse_enc(s.as_bytes());
        let _ = sops::cipher::decrypt_value(s.as_bytes(), &[0u8; 32], b"a:");
    }

    #[test]
    fn enc_parser_never_panics_on_enc_shaped_input(
        data in "[A-Za-z0-9+/=,:\\]\\[]{0,40}",
        iv in "[A-Za-z0-9+/=,:\\]]{0,50}",
        tag in "[A-Za-z0-9+/=,:\\]]{0,30}",
        ty in "[a-z\\]]{0,8}",
    ) {
        let s = format!("ENC[AES256_GCM,data:{data},iv:{iv},tag:{tag},type:{ty}]");
        let _ = sops::cipher::decrypt_value(s.as_bytes(), &[0u8; 32], b"a:");
    }

    #[test]
    fn key_paths_never_panic(s in ".*") {
        let _ = sops::path::parse_sops(&s);
        let _ = sops::path::parse_key(&s);
    }

    #[test]
    fn mac_aad_never_panics(s in ".*") {
        let _ = sops::decrypt::mac_aad(&s);
    }

    #[test]
    fn every_store_and_the_pipeline_never_panic_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        for f in Format::ALL {
            let _ = sops::stores::parse_plain(f, &b);
            if let Ok(file) = EncryptedFile::parse(f, &b) {
                let _ = file.data_key(&Identities::new());
            }
        }
    }

    #[test]
    fn every_store_and_the_pipeline_never_panic_on_text(s in "(\\PC|\n|\t){0,300}") {
        for f in Format::ALL {
            let _ = sops::stores::parse_plain(f, s.as_bytes());
            if let Ok(file) = EncryptedFile::parse(f, s.as_bytes()) {
                if let Some(k) = sops::decrypt::DataKey::from_bytes(&[1u8; 32]) {
                    let _ = file.decrypt(&k, &DecryptOptions::default());
                }
            }
        }
    }
}
