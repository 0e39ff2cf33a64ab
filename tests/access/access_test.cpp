// tests/access/access_test.cpp — bearer tokens (files, the environment, rotation,
// near misses) and the storage allowlist (prefix rules, dot segments, doubled slashes,
// percent-encoding, symlinks, other buckets, the default without rules).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "access/allowlist.h"
#include "access/tokens.h"
#include "access/webhooks.h"
#include "common/error.h"
#include "test_media.h"

namespace fs = std::filesystem;
namespace rt = reelscale::testing;
using reelscale::Error;
using reelscale::ErrorKind;
using reelscale::access::StorageAllowlist;
using reelscale::access::TokenSet;

namespace {
const std::string kA = "alpha-token-0123456789";
const std::string kB = "bravo-token-9876543210";

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::kInternal;  // "did not throw"
}
}  // namespace

TEST(Tokens, FileAndEnvironmentTokensAreAllAcceptedAndNearMissesAreNot) {
  rt::TempDir dir;
  std::ofstream(dir / "tokens") << "# rotated 2026-12-01\n\n  " << kA << "  \n" << kB << "\n";
  setenv("REELSCALE_TEST_TOKENS", "charlie-token-00001111, delta-token-222233334444", 1);
  const TokenSet set = TokenSet::load((dir / "tokens").string(), "REELSCALE_TEST_TOKENS");
  unsetenv("REELSCALE_TEST_TOKENS");
  EXPECT_EQ(set.size(), 4u);
  for (const std::string& t : {kA, kB, std::string("charlie-token-00001111"), std::string("delta-token-222233334444")}) {
    EXPECT_TRUE(set.accepts(t)) << t;
    EXPECT_TRUE(set.accepts_header("Bearer " + t)) << t;
  }
  for (const std::string& t : {kA.substr(0, kA.size() - 1), kA + "x", std::string(""), std::string(" "), kA + kB}) {
    EXPECT_FALSE(set.accepts(t)) << "'" << t << "'";
  }
  EXPECT_FALSE(set.accepts_header(kA)) << "no scheme";
  EXPECT_FALSE(set.accepts_header("Basic " + kA));
  EXPECT_FALSE(set.accepts_header("Bearer"));
  EXPECT_FALSE(set.accepts_header(""));
}

TEST(Tokens, BadTokenFilesAreClearErrors) {
  rt::TempDir dir;
  EXPECT_EQ(kind_of([&] { TokenSet::load((dir / "missing").string(), nullptr); }), ErrorKind::kBadInput);
  std::ofstream(dir / "empty") << "# nothing here\n\n";
  EXPECT_EQ(kind_of([&] { TokenSet::load((dir / "empty").string(), nullptr); }), ErrorKind::kBadInput);
  std::ofstream(dir / "short") << "abc\n";
  EXPECT_EQ(kind_of([&] { TokenSet::load((dir / "short").string(), nullptr); }), ErrorKind::kBadInput);
  EXPECT_TRUE(TokenSet::load("", "REELSCALE_UNSET_VARIABLE").empty());
  EXPECT_EQ(reelscale::access::client_token("", "REELSCALE_UNSET_VARIABLE"), std::nullopt);
}

TEST(Allowlist, LocalFoldersResolveSymlinksAndRefuseAmbiguousPaths) {
  rt::TempDir allowed, outside;
  fs::create_directory(allowed / "sub");
  fs::create_directory_symlink(outside.path(), allowed / "out-link");
  fs::create_directory_symlink(allowed / "sub", outside / "in-link");
  std::ofstream(outside / "file") << "x";
  fs::create_symlink(outside / "file", allowed / "file-link");
  const StorageAllowlist list({allowed.path().string()});
  const std::string a = allowed.path().string();
  for (const std::string& ok : std::vector<std::string>{a + "/out.mp4", a + "/sub/out.mp4", a + "/new-folder/out.mp4", (outside / "in-link/x.mp4").string()}) {
    EXPECT_NO_THROW(list.check(ok, "output")) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{(outside / "x.mp4").string(), a + "/../x.mp4", a + "/sub/../../x.mp4", a + "/./x.mp4",
                                a + "//x.mp4", a + "/%2e%2e/x.mp4", a + "/%2F..%2Fx.mp4", a + "\\..\\x.mp4",
                                a + "/out-link/x.mp4", a + "/file-link", std::string("x.mp4"), std::string("/etc/passwd"),
                                a + "-sibling/x.mp4", std::string("s3://videos/x.mp4")}) {
    EXPECT_EQ(kind_of([&] { list.check(bad, "output"); }), ErrorKind::kDenied) << bad;
  }
  try {
    list.check(a + "/out-link/x.mp4", "output");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("symlink"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(a), std::string::npos) << "names the rule: " << e.what();
  }
}

TEST(Allowlist, S3PrefixesAndTheDefault) {
  const StorageAllowlist list({"s3://videos/allowed", "s3://exports/"});
  for (const std::string& ok : std::vector<std::string>{"s3://videos/allowed/a.mp4", "s3://videos/allowed/deep/a.mp4", "s3://exports/any/where.mp4"}) {
    EXPECT_NO_THROW(list.check(ok, "input")) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"s3://videos/allowedx/a.mp4", "s3://videos/a.mp4", "s3://other/allowed/a.mp4",
                                "s3://videos/allowed/../a.mp4", "s3://videos/allowed/%2e%2e/a.mp4",
                                "s3://videos/allowed//a.mp4", "s3://videos/allowed/./a.mp4", "/tmp/a.mp4",
                                "http://host/a.mp4"}) {
    EXPECT_EQ(kind_of([&] { list.check(bad, "input"); }), ErrorKind::kDenied) << bad;
  }
  const StorageAllowlist none;
  EXPECT_NO_THROW(none.check("s3://any-bucket/any/key.mp4", "output")) << "no rules: any s3:// URL";
  EXPECT_EQ(kind_of([&] { none.check("/tmp/x.mp4", "output"); }), ErrorKind::kDenied) << "no rules: no local paths";
  EXPECT_EQ(kind_of([&] { none.check("s3://b/a/../k", "output"); }), ErrorKind::kDenied);
  EXPECT_EQ(kind_of([&] { StorageAllowlist({"relative/folder"}); }), ErrorKind::kBadInput);
  EXPECT_EQ(kind_of([&] { StorageAllowlist({"/no/such/folder/anywhere"}); }), ErrorKind::kBadInput);
}

namespace wh = reelscale::access;

// The example message of the Standard Webhooks 1.0 specification, with its published signature.
TEST(Webhooks, TheSignatureMatchesTheStandardsExampleAndEverySecretSigns) {
  const wh::WebhookSecrets one = wh::WebhookSecrets::of({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"});
  EXPECT_EQ(one.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  const wh::WebhookSecrets two =
      wh::WebhookSecrets::of({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_dGhlIG9sZCBzZWNyZXQsIHN0aWxsIHZhbGlkIQ=="});
  const std::string header = two.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  EXPECT_EQ(header.rfind("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,", 0), 0u) << header;
  EXPECT_NE(one.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
      << "another timestamp, another signature";
  EXPECT_EQ(wh::base64_decode(wh::base64_encode(std::string("a\0bc", 4))), std::string("a\0bc", 4));
  EXPECT_EQ(wh::base64_decode(wh::base64_encode("ab")), "ab");
  for (const std::string bad : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="}) {
    try {
      wh::WebhookSecrets::of({bad});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      EXPECT_NE(std::string(e.what()).find("webhook secret 1"), std::string::npos) << e.what();
    }
  }
}

TEST(Webhooks, OnlyUrlsUnderAPrefixThatMeanWhatTheyReadAreAllowed) {
  const wh::WebhookAllowlist allow({"https://hooks.example.com", "http://127.0.0.1:8081/hooks/"});
  for (const std::string ok : {"https://hooks.example.com/reelscale", "https://hooks.example.com?x=1",
                               "https://hooks.example.com", "http://127.0.0.1:8081/hooks/a/b?c=d"}) {
    EXPECT_NO_THROW(allow.check(ok)) << ok;
  }
  for (const std::string bad : {"https://hooks.example.com.evil.net/", "https://hooks.example.com:444/",
                                "http://hooks.example.com/", "http://127.0.0.1:8081/hooksx", "http://127.0.0.1:8081/hooks/../admin",
                                "http://127.0.0.1:8081/hooks/%2e%2e/admin", "http://127.0.0.1:8081/hooks//x",
                                "https://user@hooks.example.com/", "https://hooks.example.com/#frag", "ftp://hooks.example.com/",
                                "https://hooks.example.com/a b", "http://169.254.169.254/latest/meta-data/"}) {
    try {
      allow.check(bad);
      ADD_FAILURE() << bad << " was allowed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kDenied) << bad;
    }
  }
  try {
    wh::WebhookAllowlist().check("https://hooks.example.com/");
    ADD_FAILURE() << "no prefixes must allow nothing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("none is set"), std::string::npos) << e.what();
  }
  EXPECT_THROW(wh::WebhookAllowlist({"hooks.example.com"}), Error);
}

// A refusal names the URL but never the credentials in it (issue 31), whichever rule refused it.
TEST(Webhooks, ARefusalNeverEchoesTheCredentialsOfAUrl) {
  const wh::WebhookAllowlist allow({"https://hooks.example.com/"});
  for (const std::string bad : {"https://alice:s3cret-pass@hooks.example.com/x", "https://alice:s3cret-pass@evil.net/",
                                "http://alice:s3cret-pass@10.0.0.1", "https://alice:s3cret-pass@evil.net/a@b#frag"}) {
    try {
      allow.check(bad);
      ADD_FAILURE() << bad << " was allowed";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find("s3cret-pass"), std::string::npos) << message;
      EXPECT_EQ(message.find("alice"), std::string::npos) << message;
      EXPECT_NE(message.find("***@"), std::string::npos) << message;
    }
  }
}
