// store/s3_xml.h — the S3 XML replies reelscale reads (errors, listings, multipart
// uploads), parsed with tinyxml2. A reply that is not the document expected is an
// Error(kIo) naming what was missing.
#pragma once

#include <string>
#include <vector>

namespace reelscale::store::s3xml {

struct ErrorReply {
  std::string code;     // "NoSuchKey", "SignatureDoesNotMatch", ...; empty when the body is no S3 error
  std::string message;
};
// Reads <Error><Code/><Message/></Error>; empty fields for anything else.
ErrorReply parse_error(const std::string& body);

struct ListedObject {
  std::string key;
  long long size = 0;
  std::string etag;
  std::string last_modified;  // ISO 8601
};
struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;
};
// ListBucketResult of ListObjectsV2.
ListPage parse_list(const std::string& body);

// InitiateMultipartUploadResult: the UploadId.
std::string parse_upload_id(const std::string& body);

struct ListedUpload {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601
};
struct UploadPage {
  std::vector<ListedUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
// ListMultipartUploadsResult.
UploadPage parse_uploads(const std::string& body);

// Seconds since 1970 of an ISO 8601 UTC time ("2026-12-01T10:00:00.000Z"); 0 if unreadable.
double parse_iso8601(const std::string& text);

}  // namespace reelscale::store::s3xml
