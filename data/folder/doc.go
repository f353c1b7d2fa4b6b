// Package folder reads a dataset of image files on disk: PNG (8- and 16-bit grayscale,
// RGB, paletted) and JPEG files, labelled by class sub-folders or a CSV file (one class
// per file, or with MultiLabelCSV several 0/1 findings per file), or unlabelled, with a
// patient per file.
//
// Scan lists a folder's files and reads their headers; Load also decodes every image into
// memory. Options set the image size (ImageSize), grayscale or RGB (RGB), the 16-bit
// window (Range16Bit), the patients (Patients) and what happens to unreadable files
// (SkipBadFiles: left out and listed in Folder.Skipped, never silently; without it the
// first bad file is an error naming it).
//
// A Folder's files are data.Items, so the patient-level split of package data applies:
// Folder.SplitByPatient makes a data.Manifest, which is saved and reloaded with
// data.WriteManifest and data.LoadManifest so a study reruns on exactly the same splits;
// Folder.Dataset cuts a loaded folder by a manifest into the train, val and test
// data.Splits every protocol takes. For folders larger than memory, package data/stream
// streams a scanned (or Selected) Folder from disk.
//
// Every size a file's header claims is checked against a pixel limit (MaxPixels) before
// anything is allocated, so a corrupt or hostile file is an error, never a panic or a
// huge allocation. Errors about a file are *data.FileError values reading
// "folder: FILE: ..." that match the data package's sentinels (data.ErrRead,
// data.ErrUnsupported, data.ErrFormat, data.ErrShape, data.ErrLabel) with errors.Is.
package folder
