package web

// Owned by the WEB-GALLERY engineer: customers, galleries, search, upload,
// asset detail.

func (s *server) routesGallery() {}
