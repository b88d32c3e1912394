//! The sample catalogs compiled into the binary: the embedded default a newcomer's first
//! search runs against.

use crate::resource::CatalogFormat;

/// One sample publisher and the documents of its catalog (ingested together, as one source).
pub struct SamplePublisher {
    pub id: &'static str,
    pub name: &'static str,
    pub homepage: &'static str,
    pub format: CatalogFormat,
    pub documents: &'static [(&'static str, &'static [u8])],
}

macro_rules! sample {
    ($file:literal) => {
        ($file, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/catalogs/", $file)) as &[u8])
    };
}

pub const SAMPLES: &[SamplePublisher] = &[
    SamplePublisher {
        id: "mathwise",
        name: "MathWise Learning",
        homepage: "https://www.mathwise.example.com",
        format: CatalogFormat::CommonCartridge,
        documents: &[sample!("mathwise-thin-cc.xml")],
    },
    SamplePublisher {
        id: "sciencelab",
        name: "ScienceLab Interactive",
        homepage: "https://www.sciencelab.example.com",
        format: CatalogFormat::ResourceSearch,
        documents: &[sample!("sciencelab-resource-search.json"), sample!("sciencelab-resource-search-page2.json")],
    },
    SamplePublisher {
        id: "openreaders",
        name: "OpenReaders Collective",
        homepage: "https://openreaders.example.org",
        format: CatalogFormat::Lrmi,
        documents: &[
            sample!("openreaders-lrmi.jsonld"),
            sample!("openreaders-lrmi-array.json"),
            sample!("openreaders-single.jsonld"),
        ],
    },
    SamplePublisher {
        id: "histarchive",
        name: "HistArchive Digital Collections",
        homepage: "https://collections.histarchive.example.net",
        format: CatalogFormat::OaiPmh,
        documents: &[
            sample!("histarchive-oai-lom-page1.xml"),
            sample!("histarchive-oai-lom-page2.xml"),
            sample!("histarchive-oai-dc.xml"),
        ],
    },
];
