//! Fixed documents: `/html`, `/json`, `/xml`, `/robots.txt`, `/deny`, `/encoding/utf8`, the
//! index page, and `/charset/{label}` (text in a legacy encoding, with its charset declared).

use http::header::HeaderValue;
use http::StatusCode;
use serde_json::json;

use crate::body::{with_type, HttpError, Reply};

/// `/charset/{label}`: one text per supported label, as hand-encoded bytes. The header
/// `X-Decoded-Text` carries the same text percent-encoded as UTF-8, so a test can compare.
pub(crate) fn charset(label: &str) -> Reply {
    let (charset, bytes, text): (&str, &[u8], &str) = match label.to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => ("utf-8", UTF8_TEXT.as_bytes(), UTF8_TEXT),
        "latin1" | "iso-8859-1" => (
            "iso-8859-1",
            b"Gr\xfc\xdfe aus K\xf6ln: caf\xe9, na\xefve, \xa1ol\xe9!",
            "Grüße aus Köln: café, naïve, ¡olé!",
        ),
        "windows-1252" | "cp1252" => ("windows-1252", b"\x805 \x93quoted\x94 caf\xe9", "€5 “quoted” café"),
        "shift_jis" | "shift-jis" | "sjis" => (
            "shift_jis",
            b"\x93\xfa\x96{\x8c\xea\x82\xcc\x83e\x83L\x83X\x83g: \x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\x81A\x90\xa2\x8aE",
            JAPANESE,
        ),
        "euc-jp" => (
            "euc-jp",
            b"\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xa5\xc6\xa5\xad\xa5\xb9\xa5\xc8: \xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf\xa1\xa2\xc0\xa4\xb3\xa6",
            JAPANESE,
        ),
        "koi8-r" => ("koi8-r", b"\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2", "Привет, мир"),
        "gbk" => ("gbk", b"\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7", CHINESE),
        "big5" => ("big5", b"\xa7A\xa6n\xa1A\xa5@\xac\xc9", CHINESE),
        _ => {
            return Err(HttpError::new(
                StatusCode::NOT_FOUND,
                format!("unknown charset {label:?}; try utf-8, latin1, windows-1252, shift_jis, euc-jp, koi8-r, gbk, big5"),
            ))
        }
    };
    let mut response = with_type(StatusCode::OK, "text/plain", bytes.to_vec());
    let content_type = format!("text/plain; charset={charset}");
    let decoded =
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, header(&content_type));
    headers.insert("x-decoded-text", header(&decoded));
    Ok(response)
}

/// `/html`: a short HTML page (httpbin's Moby-Dick excerpt, abridged).
pub(crate) fn html() -> Reply {
    Ok(with_type(StatusCode::OK, "text/html; charset=utf-8", HTML))
}

/// `/json`: httpbin's slideshow document.
pub(crate) fn json_doc() -> Reply {
    crate::body::ok_json(&json!({
        "slideshow": {
            "author": "Yours Truly",
            "date": "date of publication",
            "slides": [
                { "title": "Wake up to WonderWidgets!", "type": "all" },
                {
                    "items": ["Why <em>WonderWidgets</em> are great", "Who <em>buys</em> WonderWidgets"],
                    "title": "Overview",
                    "type": "all"
                }
            ],
            "title": "Sample Slide Show"
        }
    }))
}

/// `/xml`: httpbin's slideshow document as XML.
pub(crate) fn xml() -> Reply {
    Ok(with_type(StatusCode::OK, "application/xml", XML))
}

/// `/robots.txt`.
pub(crate) fn robots() -> Reply {
    Ok(with_type(
        StatusCode::OK,
        "text/plain",
        "User-agent: *\nDisallow: /deny\n",
    ))
}

/// `/deny`: the page robots.txt forbids.
pub(crate) fn deny() -> Reply {
    Ok(with_type(StatusCode::OK, "text/plain", DENY))
}

/// `/encoding/utf8`: an HTML page of multilingual UTF-8 text.
pub(crate) fn utf8_page() -> Reply {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>UTF-8 demo</title></head>\n<body><pre>\n{UTF8_TEXT}\n</pre></body></html>\n"
    );
    Ok(with_type(StatusCode::OK, "text/html; charset=utf-8", page))
}

/// `/`: a list of the endpoints.
pub(crate) fn index() -> Reply {
    Ok(with_type(StatusCode::OK, "text/html; charset=utf-8", INDEX))
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

const JAPANESE: &str = "日本語のテキスト: こんにちは、世界";
const CHINESE: &str = "你好，世界";

const UTF8_TEXT: &str = "English: The quick brown fox jumps over the lazy dog.
Deutsch: Grüße aus Köln, Straße, Äpfel und Öl.
Français: À bientôt, garçon ; l'été est déjà là.
Русский: Съешь же ещё этих мягких французских булок.
Ελληνικά: Καλημέρα κόσμε.
日本語: いろはにほへと ちりぬるを
中文: 你好，世界
한국어: 안녕하세요 세계
العربية: مرحبا بالعالم
Emoji: 🦀 ✓ ∞ €";

const HTML: &str = "<!DOCTYPE html>
<html>
  <head>
  </head>
  <body>
      <h1>Herman Melville - Moby-Dick</h1>

      <div>
        <p>
          Availing himself of the mild, summer-cool weather that now reigned in these latitudes,
          and in preparation for the peculiarly active pursuits shortly to be anticipated, Perth,
          the begrimed, blistered old blacksmith, had not removed his portable forge to the hold
          again, after concluding his contributory work for Ahab's leg, but still retained it on
          deck, fast lashed to ringbolts by the foremast.
        </p>
      </div>
  </body>
</html>
";

const XML: &str = "<?xml version='1.0' encoding='us-ascii'?>

<!--  A SAMPLE set of slides  -->

<slideshow
    title=\"Sample Slide Show\"
    date=\"Date of publication\"
    author=\"Yours Truly\"
    >

    <!-- TITLE SLIDE -->
    <slide type=\"all\">
      <title>Wake up to WonderWidgets!</title>
    </slide>

    <!-- OVERVIEW -->
    <slide type=\"all\">
        <title>Overview</title>
        <item>Why <em>WonderWidgets</em> are great</item>
        <item/>
        <item>Who <em>buys</em> WonderWidgets</item>
    </slide>

</slideshow>";

const DENY: &str = "
          .-''''''-.
        .' _      _ '.
       /   O      O   \\
      :                :
      |                |
      :       __       :
       \\  .-\"`  `\"-.  /
        '.          .'
          '-......-'
     YOU SHOULDN'T BE HERE
";

const INDEX: &str = "<!DOCTYPE html>
<html><head><meta charset=\"utf-8\"><title>envoi-testserver</title></head><body>
<h1>envoi-testserver</h1>
<p>An httpbin-compatible test server. Endpoints:</p>
<pre>
/get /post /put /patch /delete /anything[/...] /headers /ip /user-agent /uuid
/status/{codes} /redirect/{n} /relative-redirect/{n} /absolute-redirect/{n} /redirect-to?url=&amp;status_code=
/cookies /cookies/set?name=value /cookies/set/{name}/{value} /cookies/delete?name
/basic-auth/{user}/{passwd} /hidden-basic-auth/{user}/{passwd} /bearer
/digest-auth/{qop}/{user}/{passwd}[/{algorithm}]
/gzip /deflate /brotli /zstd /{gzip,deflate,brotli,zstd}-bomb/{n}
/bytes/{n}?seed= /stream/{n} /stream-bytes/{n}?chunk_size=&amp;seed= /range/{n}
/drip?numbytes=&amp;duration=&amp;delay=&amp;code= /delay/{seconds} /upload-sink
/response-headers?k=v /cache /cache/{seconds} /etag/{etag} /base64/{value}
/html /json /xml /robots.txt /deny /encoding/utf8 /charset/{label}
/raw/{truncated-length,truncated-chunked,missing-last-chunk,bad-chunk-size,reset-mid-body,
      close-before-response,slow-drip,huge-header,many-headers,close-delimited,http10,
      cl-and-te,conflicting-length,interim-100,interim-103,trailers,hang,truncated-head,
      garbage,custom}
</pre>
</body></html>
";
