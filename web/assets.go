package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// static holds the dashboard's assets: its stylesheet and script, and htmx
// (pinned, with its licence) — served from the binary, never from a CDN.
//
//go:embed static
var static embed.FS

// asset is one file as served: under a name that carries a hash of its
// content, so it can be cached for a year and a new build changes its URL.
type asset struct {
	name, hashed, contentType string
	body, gz                  []byte
}

type assetSet struct {
	byName   map[string]*asset // "app.css"
	byHashed map[string]*asset // "app.1a2b3c4d5e.css"
}

func loadAssets() (*assetSet, error) {
	s := &assetSet{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		a := &asset{name: name, body: body, hashed: strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext,
			contentType: mime.TypeByExtension(ext)}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		if ext == ".css" || ext == ".js" || ext == ".txt" || ext == ".svg" {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if buf.Len() < len(body) {
				a.gz = buf.Bytes()
			}
		}
		s.byName[name], s.byHashed[a.hashed] = a, a
		return nil
	})
	return s, err
}

// url is where an asset is served: /static/<name>.<hash>.<ext>.
func (s *assetSet) url(name string) (string, error) {
	a, ok := s.byName[name]
	if !ok {
		return "", fmt.Errorf("web: no asset %q", name)
	}
	return "/static/" + a.hashed, nil
}

// serve answers /static/<hashed name> (cached for a year: the name changes
// with the content) and /static/<name> (revalidated: for links that must
// stay stable, such as the licence), gzip-compressed when the browser takes it.
func (s *assetSet) serve(c echo.Context) error {
	file := c.Param("file")
	h := c.Response().Header()
	a, ok := s.byHashed[file]
	if ok {
		h.Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else if a, ok = s.byName[file]; ok {
		h.Set(echo.HeaderCacheControl, "public, max-age=300")
	} else {
		return echo.ErrNotFound
	}
	h.Set(echo.HeaderContentType, a.contentType)
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	h.Set("ETag", `"`+a.hashed+`"`)
	if match := c.Request().Header.Get("If-None-Match"); match == `"`+a.hashed+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	body := a.body
	if a.gz != nil && strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
		h.Set(echo.HeaderContentEncoding, "gzip")
		body = a.gz
	}
	return c.Blob(http.StatusOK, a.contentType, body)
}
