import Crypto
import Foundation
import ResultStore
import Testing

/// AWS's published vectors: the SigV4 test suite (credential scope
/// AKIDEXAMPLE/20150830/us-east-1/service) and the S3 developer guide's header-signing
/// examples (examplebucket, 20130524).
@Suite struct SigV4Tests {
    let suite = SigV4Signer(
        credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    let s3 = SigV4Signer(
        credentials: .init(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3")
    let suiteHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]

    @Test func getVanilla() {
        let signed = suite.sign(
            method: "GET", path: "/", query: [], headers: suiteHeaders,
            payloadHash: SigV4Signer.emptyPayloadSHA256, amzDate: "20150830T123600Z")
        #expect(
            signed.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + SigV4Signer.emptyPayloadSHA256)
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCase() {
        let signed = suite.sign(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: suiteHeaders,
            payloadHash: SigV4Signer.emptyPayloadSHA256, amzDate: "20150830T123600Z")
        #expect(signed.canonicalRequest.contains("\nParam1=value1&Param2=value2\n"))
        #expect(
            signed.stringToSign.hasSuffix("816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"))
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func s3GetObjectWithRange() {
        let signed = s3.sign(
            method: "GET", path: "/test.txt", query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadSHA256), ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4Signer.emptyPayloadSHA256, amzDate: "20130524T000000Z")
        #expect(signed.signedHeaders == "host;range;x-amz-content-sha256;x-amz-date")
        #expect(
            signed.stringToSign.hasSuffix("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func s3PutObject() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        #expect(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = s3.sign(
            method: "PUT", path: "/" + SigV4Signer.uriEncode("test$file.text", keepSlash: true), query: [],
            headers: [
                ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", hash), ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ],
            payloadHash: hash, amzDate: "20130524T000000Z")
        #expect(signed.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n"))
        #expect(signed.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func s3ListObjectsWithQuery() {
        let signed = s3.sign(
            method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
            headers: [
                ("host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-content-sha256", SigV4Signer.emptyPayloadSHA256), ("x-amz-date", "20130524T000000Z"),
            ],
            payloadHash: SigV4Signer.emptyPayloadSHA256, amzDate: "20130524T000000Z")
        #expect(signed.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func encodingRules() {
        #expect(SigV4Signer.uriEncode("/a b/c+d~.txt", keepSlash: true) == "/a%20b/c%2Bd~.txt")
        #expect(SigV4Signer.uriEncode("a/b", keepSlash: false) == "a%2Fb")
        #expect(SigV4Signer.uriEncode("/\u{e9}", keepSlash: true) == "/%C3%A9")
        #expect(SigV4Signer.canonicalQuery([("uploads", "")]) == "uploads=")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
    }

    @Test func secretsStayOutOfDescriptions() {
        #expect(!"\(s3.credentials)".contains("EXAMPLEKEY"))
        let signed = s3.sign(
            method: "GET", path: "/", query: [], headers: [("host", "h")],
            payloadHash: SigV4Signer.emptyPayloadSHA256, amzDate: "20130524T000000Z")
        #expect(!signed.authorization.contains("EXAMPLEKEY"))
    }
}
