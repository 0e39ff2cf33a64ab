// store/s3_xml.cpp — S3 replies through tinyxml2.
#include "store/s3_xml.h"

#include <tinyxml2.h>

#include <ctime>

#include "common/error.h"

namespace reelscale::store::s3xml {

namespace {

using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

// The document's root element, which must be named `root`.
const XMLElement& root_of(XMLDocument& doc, const std::string& body, const char* root) {
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
    fail(ErrorKind::kIo, std::string("storage sent a reply that is not XML (expected ") + root + ")");
  }
  const XMLElement* e = doc.RootElement();
  if (!e || std::string(e->Name()) != root) {
    fail(ErrorKind::kIo, std::string("storage sent <") + (e ? e->Name() : "nothing") + "> where <" + root + "> was expected");
  }
  return *e;
}

std::string child_text(const XMLElement& parent, const char* name) {
  const XMLElement* c = parent.FirstChildElement(name);
  return c && c->GetText() ? c->GetText() : "";
}

}  // namespace

ErrorReply parse_error(const std::string& body) {
  XMLDocument doc;
  if (body.empty() || doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) return {};
  const XMLElement* e = doc.RootElement();
  if (!e || std::string(e->Name()) != "Error") return {};
  return {child_text(*e, "Code"), child_text(*e, "Message")};
}

ListPage parse_list(const std::string& body) {
  XMLDocument doc;
  const XMLElement& root = root_of(doc, body, "ListBucketResult");
  ListPage page;
  for (const XMLElement* c = root.FirstChildElement("Contents"); c; c = c->NextSiblingElement("Contents")) {
    ListedObject o;
    o.key = child_text(*c, "Key");
    if (o.key.empty()) fail(ErrorKind::kIo, "storage listed an object without a Key");
    const std::string size = child_text(*c, "Size");
    o.size = size.empty() ? 0 : std::stoll(size);
    o.etag = child_text(*c, "ETag");
    o.last_modified = child_text(*c, "LastModified");
    page.objects.push_back(std::move(o));
  }
  page.truncated = child_text(root, "IsTruncated") == "true";
  page.next_token = child_text(root, "NextContinuationToken");
  return page;
}

std::string parse_upload_id(const std::string& body) {
  XMLDocument doc;
  const std::string id = child_text(root_of(doc, body, "InitiateMultipartUploadResult"), "UploadId");
  if (id.empty()) fail(ErrorKind::kIo, "storage started a multipart upload without an UploadId");
  return id;
}

UploadPage parse_uploads(const std::string& body) {
  XMLDocument doc;
  const XMLElement& root = root_of(doc, body, "ListMultipartUploadsResult");
  UploadPage page;
  for (const XMLElement* u = root.FirstChildElement("Upload"); u; u = u->NextSiblingElement("Upload")) {
    page.uploads.push_back({child_text(*u, "Key"), child_text(*u, "UploadId"), child_text(*u, "Initiated")});
  }
  page.truncated = child_text(root, "IsTruncated") == "true";
  page.next_key_marker = child_text(root, "NextKeyMarker");
  page.next_upload_id_marker = child_text(root, "NextUploadIdMarker");
  return page;
}

double parse_iso8601(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return 0;
  double fraction = 0;
  if (*end == '.') fraction = std::atof(end);
  return static_cast<double>(timegm(&tm)) + fraction;
}

}  // namespace reelscale::store::s3xml
